{#-
  Licenses and contracted subscription line items that end (a license without an end: that
  renews) within the next var planhat_renewal_window_days days, today included, with the
  company, its owner and health, and the MRR at stake.
-#}
with today as (
    select {{ planhat_today() }} as today
),

items as (
    select items.*
    from {{ ref('int_planhat__revenue_items') }} as items
    cross join today
    where items.renews_on >= today.today
        and items.renews_on < {{ planhat_add_days('today.today', var('planhat_renewal_window_days')) }}
)

select
    items.revenue_item_id,
    items.source,
    items.source_id,
    items.company_id,
    companies.company_name,
    companies.owner_id,
    companies.owner_name,
    companies.owner_email,
    companies.health,
    companies.status as company_status,
    items.deal_id,
    items.product_name,
    items.renews_on,
    {{ dbt.datediff('today.today', 'items.renews_on', 'day') }} as days_until_renewal,
    items.mrr as mrr_at_stake,
    items.mrr * 12 as arr_at_stake,
    items.auto_renews
from items
cross join today
left join {{ ref('stg_planhat__companies') }} as companies
    on companies.company_id = items.company_id
