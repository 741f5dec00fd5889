with staged as (
{{ planhat_staging_with_users('deals', custom_fields_of='Deal', users=['owner']) }}
)

select
    *,
    coalesce(stage in {{ planhat_list(var('planhat_contracted_deal_stages')) }}, false) as is_contracted
from staged
