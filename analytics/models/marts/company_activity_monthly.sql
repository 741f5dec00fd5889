{#- Conversations (by their date) and tickets (by creation) per company and month. -#}
with conversations as (
    select
        company_id,
        {{ planhat_month_of('coalesce(conversation_at, created_at)') }} as month,
        count(*) as conversations
    from {{ ref('stg_planhat__conversations') }}
    where company_id is not null
        and coalesce(conversation_at, created_at) is not null
    group by 1, 2
),

tickets as (
    select
        company_id,
        {{ planhat_month_of('created_at') }} as month,
        count(*) as tickets,
        sum(case when is_open then 1 else 0 end) as open_tickets
    from {{ ref('stg_planhat__tickets') }}
    where company_id is not null
        and created_at is not null
    group by 1, 2
),

keys as (
    select company_id, month from conversations
    union
    select company_id, month from tickets
)

select
    keys.company_id,
    keys.month,
    cast(coalesce(conversations.conversations, 0) as {{ planhat_type('bigint') }}) as conversations,
    cast(coalesce(tickets.tickets, 0) as {{ planhat_type('bigint') }}) as tickets,
    cast(coalesce(tickets.open_tickets, 0) as {{ planhat_type('bigint') }}) as open_tickets
from keys
left join conversations
    on conversations.company_id = keys.company_id
    and conversations.month = keys.month
left join tickets
    on tickets.company_id = keys.company_id
    and tickets.month = keys.month
