with source as (
{{ planhat_staging('issues', custom_fields_of='Issue') }}
)

select
    *,
    (not coalesce(is_archived, false) and coalesce(lower(status), '') not in {{ planhat_list(var('planhat_closed_statuses')) }}) as is_open
from source
