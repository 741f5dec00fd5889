{#- Metrics (dimension data) per company, metric and day: the day's total. -#}
select
    company_id,
    dimension_id,
    day,
    sum(value) as value,
    cast(count(*) as {{ planhat_type('bigint') }}) as data_points
from {{ ref('stg_planhat__dimension_data') }}
where company_id is not null
    and dimension_id is not null
    and day is not null
group by 1, 2, 3
