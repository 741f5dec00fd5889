{% macro planhat_staging_with_users(table, custom_fields_of=none, users=['owner']) %}
  {#-
    planhat_staging, plus <prefix>_name and <prefix>_email for each user reference
    <prefix>_id in ``users`` (owner_id -> owner_name, owner_email), from stg_planhat__users.
  -#}
with source as (
{{ planhat_staging(table, custom_fields_of) }}
),

users as (
    select user_id, user_name, email from {{ ref('stg_planhat__users') }}
)

select
    source.*
    {%- for prefix in users %},
    {{ prefix }}_user.user_name as {{ prefix }}_name,
    {{ prefix }}_user.email as {{ prefix }}_email
    {%- endfor %}
from source
{%- for prefix in users %}
left join users as {{ prefix }}_user
    on {{ prefix }}_user.user_id = source.{{ prefix }}_id
{%- endfor %}
{% endmacro %}
