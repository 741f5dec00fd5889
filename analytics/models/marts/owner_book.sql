{#-
  Book of business per owner (team member): companies, customers, current MRR and ARR, the
  health mix (var planhat_healthy_from, planhat_at_risk_below) and renewals in the next 90
  days. Companies without an owner make the row whose owner_id is null.
-#}
with companies as (
    select * from {{ ref('company_360') }}
),

renewals as (
    select company_id, count(*) as renewals_90d, sum(mrr_at_stake) as mrr_renewing_90d
    from {{ ref('renewals') }}
    where days_until_renewal < 90
    group by company_id
)

select
    companies.owner_id,
    max(companies.owner_name) as owner_name,
    max(companies.owner_email) as owner_email,
    cast(count(*) as {{ planhat_type('bigint') }}) as companies,
    cast(sum(case when companies.current_mrr <> 0 then 1 else 0 end)
        as {{ planhat_type('bigint') }}) as paying_companies,
    cast(sum(companies.current_mrr) as {{ planhat_type('money') }}) as current_mrr,
    cast(sum(companies.current_arr) as {{ planhat_type('money') }}) as current_arr,
    cast(sum(case when companies.health >= {{ var('planhat_healthy_from') }} then 1 else 0 end)
        as {{ planhat_type('bigint') }}) as healthy_companies,
    cast(sum(case when companies.health >= {{ var('planhat_at_risk_below') }}
        and companies.health < {{ var('planhat_healthy_from') }} then 1 else 0 end)
        as {{ planhat_type('bigint') }}) as neutral_companies,
    cast(sum(case when companies.health < {{ var('planhat_at_risk_below') }} then 1 else 0 end)
        as {{ planhat_type('bigint') }}) as at_risk_companies,
    cast(sum(case when companies.health is null then 1 else 0 end)
        as {{ planhat_type('bigint') }}) as unknown_health_companies,
    cast(coalesce(sum(renewals.renewals_90d), 0) as {{ planhat_type('bigint') }}) as renewals_90d,
    cast(coalesce(sum(renewals.mrr_renewing_90d), 0) as {{ planhat_type('money') }})
        as mrr_renewing_90d
from companies
left join renewals
    on renewals.company_id = companies.company_id
group by companies.owner_id
