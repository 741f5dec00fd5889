with staged as (
{{ planhat_staging_with_users('tickets', custom_fields_of='Ticket', users=['owner']) }}
)

select
    *,
    coalesce(lower(status), '') not in {{ planhat_list(var('planhat_closed_statuses')) }} as is_open
from staged
