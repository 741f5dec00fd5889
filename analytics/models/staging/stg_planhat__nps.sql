with source as (
{{ planhat_staging('nps', custom_fields_of='NPS') }}
)

select
    *,
    coalesce(score >= 0 and score <= 10, false) as is_valid_score
from source
