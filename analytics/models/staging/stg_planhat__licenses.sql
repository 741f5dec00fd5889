with source as (
{{ planhat_staging('licenses', custom_fields_of='License') }}
)

select
    *,
    cast(from_date as date) as from_day,
    cast(to_date as date) as to_day
from source
