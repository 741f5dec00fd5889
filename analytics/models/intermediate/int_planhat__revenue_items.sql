{#-
  Recurring revenue items: every license, and the subscription line items of contracted
  deals (var planhat_contracted_deal_stages, planhat_subscription_line_item_types), each
  with its company, monthly amount and active days. mrr_monthly and renewals read this.
-#}
with licenses as (
    select
        'license' as source,
        license_id as source_id,
        company_id,
        cast(null as {{ planhat_type('text') }}) as deal_id,
        product as product_name,
        cast(coalesce(mrr, 0) as {{ planhat_type('money') }}) as mrr,
        from_day,
        to_day,
        coalesce(to_day, cast(renewal_date as date)) as renews_on,
        auto_renews
    from {{ ref('stg_planhat__licenses') }}
),

line_items as (
    select
        'line_item' as source,
        line_items.line_item_id as source_id,
        deals.company_id,
        line_items.deal_id,
        products.product_name,
        cast(coalesce(line_items.mrr, 0) as {{ planhat_type('money') }}) as mrr,
        line_items.from_day,
        line_items.to_day,
        line_items.to_day as renews_on,
        products.auto_renews
    from {{ ref('stg_planhat__line_items') }} as line_items
    inner join {{ ref('stg_planhat__deals') }} as deals
        on deals.deal_id = line_items.deal_id
    left join {{ ref('stg_planhat__products') }} as products
        on products.product_id = line_items.product_id
    where deals.is_contracted
        and line_items.type in {{ planhat_list(var('planhat_subscription_line_item_types')) }}
),

items as (
    select * from licenses
    union all
    select * from line_items
)

select
    source || ':' || source_id as revenue_item_id,
    items.*
from items
