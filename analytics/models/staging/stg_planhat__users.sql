with source as (
{{ planhat_staging('users', custom_fields_of='User') }}
)

select
    *,
    coalesce(nick_name, nullif(trim(coalesce(first_name, '') || ' ' || coalesce(last_name, '')), ''), email) as user_name
from source
