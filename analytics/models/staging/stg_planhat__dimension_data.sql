with source as (
{{ planhat_staging('dimension_data') }}
)

select
    *,
    cast(coalesce(date, time) as date) as day
from source
