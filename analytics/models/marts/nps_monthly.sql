{#-
  NPS per calendar month of the answer: responses scored 0-10, promoters (9-10), passives
  (7-8), detractors (0-6) and the score, 100 x (promoters - detractors) / responses.
-#}
with answered as (
    select
        {{ planhat_month_of('date_answered') }} as month,
        score,
        is_valid_score
    from {{ ref('stg_planhat__nps') }}
    where date_answered is not null
),

counted as (
    select
        month,
        sum(case when is_valid_score then 1 else 0 end) as responses,
        sum(case when is_valid_score and score >= 9 then 1 else 0 end) as promoters,
        sum(case when is_valid_score and score >= 7 and score < 9 then 1 else 0 end) as passives,
        sum(case when is_valid_score and score < 7 then 1 else 0 end) as detractors,
        sum(case when is_valid_score then 0 else 1 end) as invalid_responses
    from answered
    group by month
)

select
    month,
    cast(responses as {{ planhat_type('bigint') }}) as responses,
    cast(promoters as {{ planhat_type('bigint') }}) as promoters,
    cast(passives as {{ planhat_type('bigint') }}) as passives,
    cast(detractors as {{ planhat_type('bigint') }}) as detractors,
    cast(invalid_responses as {{ planhat_type('bigint') }}) as invalid_responses,
    case
        when responses > 0
            then cast(100.0 * (promoters - detractors) / responses as decimal(10, 1))
    end as nps
from counted
