with source as (
{{ planhat_staging('line_items', custom_fields_of='LineItem') }}
)

select
    *,
    cast(from_date as date) as from_day,
    cast(to_date as date) as to_day
from source
