{#-
  One row per company: owner, phase, status, health; current MRR and ARR (mrr_monthly);
  next renewal; open tickets and issues; last conversation; latest NPS; usage over the last
  30 days (dimension data: one usage_30d_<metric> column per metric); custom fields.
-#}
{%- set usage_columns = [] -%}
{%- if execute -%}
  {%- set used = [] -%}
  {%- set metrics = run_query(
      'select distinct dimension_id from ' ~ ref('usage_daily') ~ ' order by 1 limit 100') -%}
  {%- for row in metrics -%}
    {%- do usage_columns.append((row[0], planhat_unique_name(
        'usage_30d_' ~ (planhat_snake(row[0]) or 'metric'), used))) -%}
  {%- endfor -%}
{%- endif -%}

with companies as (
    select * from {{ ref('stg_planhat__companies') }}
),

today as (
    select {{ planhat_today() }} as today
),

current_mrr as (
    select company_id, mrr
    from {{ ref('mrr_monthly') }}
    where is_current_month
),

next_renewals as (
    select items.company_id, min(items.renews_on) as next_renewal_date
    from {{ ref('int_planhat__revenue_items') }} as items
    cross join today
    where items.renews_on >= today.today
    group by items.company_id
),

tickets as (
    select company_id, count(*) as open_tickets
    from {{ ref('stg_planhat__tickets') }}
    where is_open
    group by company_id
),

issue_companies as (
    select
        issue_id,
        {{ planhat_json_array_elements('company_ids') }} as company_id
    from {{ ref('stg_planhat__issues') }}
    where is_open
),

issues as (
    select company_id, count(distinct issue_id) as open_issues
    from issue_companies
    group by company_id
),

conversations as (
    select
        company_id,
        conversation_at,
        type,
        row_number() over (
            partition by company_id order by conversation_at desc, conversation_id
        ) as recency
    from {{ ref('stg_planhat__conversations') }}
    where conversation_at is not null
),

nps as (
    select
        company_id,
        score,
        date_answered,
        row_number() over (partition by company_id order by date_answered desc, nps_id) as recency
    from {{ ref('stg_planhat__nps') }}
    where is_valid_score
        and date_answered is not null
),

usage as (
    select
        usage.company_id,
        sum(usage.value) as usage_30d_total,
        count(distinct usage.day) as usage_30d_days
        {%- for metric, column in usage_columns %},
        sum(case when usage.dimension_id = '{{ metric | replace("'", "''") }}' then usage.value end)
            as {{ column }}
        {%- endfor %}
    from {{ ref('usage_daily') }} as usage
    cross join today
    where usage.day > {{ planhat_add_days('today.today', -30) }}
        and usage.day <= today.today
    group by usage.company_id
)

select
    companies.company_id,
    companies.company_name,
    companies.external_id,
    companies.owner_id,
    companies.owner_name,
    companies.owner_email,
    companies.co_owner_id,
    companies.co_owner_name,
    companies.phase,
    companies.status,
    companies.health,
    cast(coalesce(current_mrr.mrr, 0) as {{ planhat_type('money') }}) as current_mrr,
    cast(coalesce(current_mrr.mrr, 0) * 12 as {{ planhat_type('money') }}) as current_arr,
    companies.planhat_mrr,
    next_renewals.next_renewal_date,
    cast(coalesce(tickets.open_tickets, 0) as {{ planhat_type('bigint') }}) as open_tickets,
    cast(coalesce(issues.open_issues, 0) as {{ planhat_type('bigint') }}) as open_issues,
    conversations.conversation_at as last_conversation_at,
    conversations.type as last_conversation_type,
    nps.score as latest_nps_score,
    nps.date_answered as latest_nps_at,
    coalesce(usage.usage_30d_total, 0) as usage_30d_total,
    cast(coalesce(usage.usage_30d_days, 0) as {{ planhat_type('bigint') }}) as usage_30d_days
    {%- for metric, column in usage_columns %},
    usage.{{ column }}
    {%- endfor %},
    companies.customer_from,
    companies.created_at,
    companies.updated_at
    {%- for column in planhat_columns_like(ref('stg_planhat__companies'), 'custom_', 'companies') %},
    {{ column }}
    {%- endfor %}
from companies
left join current_mrr
    on current_mrr.company_id = companies.company_id
left join next_renewals
    on next_renewals.company_id = companies.company_id
left join tickets
    on tickets.company_id = companies.company_id
left join issues
    on issues.company_id = companies.company_id
left join conversations
    on conversations.company_id = companies.company_id
    and conversations.recency = 1
left join nps
    on nps.company_id = companies.company_id
    and nps.recency = 1
left join usage
    on usage.company_id = companies.company_id
