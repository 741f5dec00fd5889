{#-
  MRR per company and calendar month. A month's MRR is the sum of `mrr` over the company's
  licenses and the subscription line items of its contracted deals that are active on the
  month's last day (the current month: today), where active means from_day <= day and
  to_day is null or >= day. Rows run from the company's first month with MRR through the
  current month, months at 0 included.
-#}
with items as (
    select company_id, mrr, from_day, to_day
    from {{ ref('int_planhat__revenue_items') }}
    where company_id is not null
        and from_day is not null
),

today as (
    select {{ planhat_today() }} as today
),

spine as (
    {{ planhat_month_spine(
        '(select min(' ~ planhat_month_of('from_day') ~ ') from items)',
        '(select ' ~ planhat_month_of('today') ~ ' from today)') }}
),

months as (
    select
        spine.month,
        least({{ planhat_month_end('spine.month') }}, today.today) as measured_on
    from spine
    cross join today
),

active as (
    select
        items.company_id,
        months.month,
        sum(items.mrr) as mrr
    from months
    inner join items
        on items.from_day <= months.measured_on
        and (items.to_day is null or items.to_day >= months.measured_on)
    group by items.company_id, months.month
),

first_months as (
    select company_id, min(month) as first_month
    from active
    where mrr <> 0
    group by company_id
),

monthly as (
    select
        first_months.company_id,
        months.month,
        months.measured_on,
        cast(coalesce(active.mrr, 0) as {{ planhat_type('money') }}) as mrr
    from first_months
    inner join months
        on months.month >= first_months.first_month
    left join active
        on active.company_id = first_months.company_id
        and active.month = months.month
),

with_previous as (
    select
        monthly.*,
        cast(coalesce(lag(mrr) over (partition by company_id order by month), 0)
            as {{ planhat_type('money') }}) as previous_mrr,
        row_number() over (partition by company_id order by month) as month_number
    from monthly
)

select
    company_id,
    month,
    mrr,
    previous_mrr,
    case
        when mrr <> 0 and previous_mrr = 0 and month_number = 1 then 'new'
        when mrr <> 0 and previous_mrr = 0 then 'reactivation'
        when mrr = 0 and previous_mrr <> 0 then 'churn'
        when mrr > previous_mrr then 'expansion'
        when mrr < previous_mrr then 'contraction'
        else 'unchanged'
    end as movement,
    mrr - previous_mrr as mrr_change,
    mrr * 12 as arr,
    measured_on,
    month = (select {{ planhat_month_of('today') }} from today) as is_current_month
from with_previous
