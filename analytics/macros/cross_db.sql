{#
  The few things DuckDB and PostgreSQL spell differently, and what the loaders store
  differently: target-duckdb (with tap-planhat-duckdb's unions_as_json_text) keeps fields of
  several JSON types as JSON text in VARCHAR; target-postgres keeps them as JSONB (with an
  object or array among the types) or TEXT (scalars only).
#}

{% macro planhat_type(name) %}
  {{- return(adapter.dispatch('planhat_type', 'planhat')(name)) -}}
{% endmacro %}

{% macro default__planhat_type(name) %}
  {%- set types = {
      'text': dbt.type_string(),
      'numeric': 'numeric',
      'bigint': dbt.type_bigint(),
      'boolean': dbt.type_boolean(),
      'timestamp': dbt.type_timestamp(),
      'date': 'date',
      'json': 'jsonb',
      'money': 'numeric(38, 6)',
  } -%}
  {{- return(types[name]) -}}
{% endmacro %}

{% macro duckdb__planhat_type(name) %}
  {%- set types = {'numeric': 'double', 'json': 'json'} -%}
  {{- return(types.get(name) or default__planhat_type(name)) -}}
{% endmacro %}


{% macro planhat_is_json(column) %}
  {{- return(column.dtype | lower in ['json', 'jsonb']) -}}
{% endmacro %}


{% macro planhat_convert(kind, expression, column) %}
  {{- return(adapter.dispatch('planhat_convert', 'planhat')(kind, expression, column)) -}}
{% endmacro %}

{% macro default__planhat_convert(kind, expression, column) %}
  {%- set json = planhat_is_json(column) -%}
  {%- if kind == 'epoch_day' -%}
    {{- return(planhat_epoch_day(expression)) -}}
  {%- elif kind == 'loose_epoch_day' -%}
    {{- return(planhat_loose_epoch_day(planhat_scalar_text(expression, column))) -}}
  {%- elif kind == 'user_ref' -%}
    {{- return(planhat_user_ref(expression, column)) -}}
  {%- elif kind == 'json_text' or (kind == 'text' and json) -%}
    {{- return(planhat_scalar_text(expression, column)) -}}
  {%- elif kind == 'json' -%}
    {{- return(planhat_json(expression, column)) -}}
  {%- else -%}
    {{- return('cast(' ~ expression ~ ' as ' ~ planhat_type(kind) ~ ')') -}}
  {%- endif -%}
{% endmacro %}


{% macro planhat_epoch_day(expression) %}
  {#- Planhat's whole days since 1970-01-01 as a date. -#}
  {{- return("(cast('1970-01-01' as date) + cast(" ~ expression ~ " as integer))") -}}
{% endmacro %}


{% macro planhat_loose_epoch_day(text) %}
  {#- A field that is an epoch day or a string: the day number, or an ISO date's day. -#}
  {{- return(
      "case when " ~ planhat_matches(text, '-?[0-9]{1,7}') ~ " then " ~ planhat_epoch_day(text)
      ~ " when " ~ planhat_matches(text, '[0-9]{4}-[0-9]{2}-[0-9]{2}.*')
      ~ " then cast(substr(" ~ text ~ ", 1, 10) as date) end") -}}
{% endmacro %}


{% macro planhat_matches(text, pattern) %}
  {{- return(adapter.dispatch('planhat_matches', 'planhat')(text, pattern)) -}}
{% endmacro %}

{% macro default__planhat_matches(text, pattern) %}
  {{- return("(" ~ text ~ " ~ '^(" ~ pattern ~ ")$')") -}}
{% endmacro %}

{% macro duckdb__planhat_matches(text, pattern) %}
  {{- return("regexp_full_match(" ~ text ~ ", '" ~ pattern ~ "')") -}}
{% endmacro %}


{% macro planhat_scalar_text(expression, column) %}
  {{- return(adapter.dispatch('planhat_scalar_text', 'planhat')(expression, column)) -}}
{% endmacro %}

{% macro default__planhat_scalar_text(expression, column) %}
  {%- if planhat_is_json(column) -%}
    {{- return("(cast(" ~ expression ~ " as jsonb) #>> '{}')") -}}
  {%- endif -%}
  {{- return('cast(' ~ expression ~ ' as ' ~ dbt.type_string() ~ ')') -}}
{% endmacro %}

{% macro duckdb__planhat_scalar_text(expression, column) %}
  {#- JSON text ("\"abc\"", "true", "12") -> abc, true, 12; other text as it is. -#}
  {%- set text = 'cast(' ~ expression ~ ' as varchar)' -%}
  {{- return("case when json_valid(" ~ text ~ ") then json_extract_string(" ~ text ~ ", '$') else "
      ~ text ~ " end") -}}
{% endmacro %}


{% macro planhat_json(expression, column) %}
  {{- return(adapter.dispatch('planhat_json', 'planhat')(expression, column)) -}}
{% endmacro %}

{% macro default__planhat_json(expression, column) %}
  {#- target-postgres stores arrays of scalars as ARRAY columns (text[], ...). -#}
  {%- if column.dtype | lower == 'array' or column.dtype.endswith('[]') -%}
    {{- return('to_jsonb(' ~ expression ~ ')') -}}
  {%- endif -%}
  {{- return('cast(' ~ expression ~ ' as jsonb)') -}}
{% endmacro %}

{% macro duckdb__planhat_json(expression, column) %}
  {{- return("case when json_valid(cast(" ~ expression ~ " as varchar)) then cast("
      ~ expression ~ " as json) end") -}}
{% endmacro %}


{% macro planhat_user_ref(expression, column) %}
  {{- return(adapter.dispatch('planhat_user_ref', 'planhat')(expression, column)) -}}
{% endmacro %}

{% macro default__planhat_user_ref(expression, column) %}
  {#- A user's _id, or {id, nickName} (lists), as the id. As text (flattened, or with
      unions_as_json_text), an object or a string is JSON text. -#}
  {%- if not planhat_is_json(column) -%}
    {%- set text = 'cast(' ~ expression ~ ' as ' ~ dbt.type_string() ~ ')' -%}
    {{- return("case when " ~ text ~ " like '{%' then coalesce(cast(" ~ text ~ " as jsonb) ->> 'id', cast("
        ~ text ~ " as jsonb) ->> '_id') when " ~ text ~ " like '\"%' then cast(" ~ text
        ~ " as jsonb) #>> '{}' else " ~ text ~ " end") -}}
  {%- endif -%}
  {%- set value = 'cast(' ~ expression ~ ' as jsonb)' -%}
  {{- return("case jsonb_typeof(" ~ value ~ ") when 'object' then coalesce(" ~ value
      ~ " ->> 'id', " ~ value ~ " ->> '_id') when 'string' then " ~ value ~ " #>> '{}' end") -}}
{% endmacro %}

{% macro duckdb__planhat_user_ref(expression, column) %}
  {%- set text = 'cast(' ~ expression ~ ' as varchar)' -%}
  {{- return("case when not json_valid(" ~ text ~ ") then " ~ text
      ~ " when json_type(cast(" ~ text ~ " as json)) = 'OBJECT' then coalesce(json_extract_string("
      ~ text ~ ", '$.id'), json_extract_string(" ~ text ~ ", '$._id'))"
      ~ " when json_type(cast(" ~ text ~ " as json)) = 'VARCHAR' then json_extract_string("
      ~ text ~ ", '$') end") -}}
{% endmacro %}


{% macro planhat_json_field(json_expression, key, type_name) %}
  {#- One key of a JSON object as ``type_name`` (custom fields). -#}
  {{- return(adapter.dispatch('planhat_json_field', 'planhat')(json_expression, key, type_name)) -}}
{% endmacro %}

{% macro default__planhat_json_field(json_expression, key, type_name) %}
  {%- set value = 'cast(' ~ json_expression ~ ' as jsonb)' -%}
  {%- set quoted = "'" ~ key | replace("'", "''") ~ "'" -%}
  {%- if type_name == 'json' -%}
    {{- return('(' ~ value ~ ' -> ' ~ quoted ~ ')') -}}
  {%- endif -%}
  {%- set text = '(' ~ value ~ ' ->> ' ~ quoted ~ ')' -%}
  {%- if type_name == 'timestamp' -%}
    {{- return("(cast(" ~ text ~ " as timestamptz) at time zone 'UTC')") -}}
  {%- endif -%}
  {{- return('cast(' ~ text ~ ' as ' ~ planhat_type(type_name) ~ ')') -}}
{% endmacro %}

{% macro duckdb__planhat_json_field(json_expression, key, type_name) %}
  {%- set escaped = key | replace('\\', '\\\\') | replace('"', '\\"') | replace("'", "''") -%}
  {%- set path = "'$.\"" ~ escaped ~ "\"'" -%}
  {%- set value = 'cast(' ~ json_expression ~ ' as json)' -%}
  {%- if type_name == 'json' -%}
    {{- return('json_extract(' ~ value ~ ', ' ~ path ~ ')') -}}
  {%- endif -%}
  {%- set text = 'json_extract_string(' ~ value ~ ', ' ~ path ~ ')' -%}
  {%- if type_name == 'text' -%}
    {{- return(text) -}}
  {%- endif -%}
  {{- return('try_cast(' ~ text ~ ' as ' ~ planhat_type(type_name) ~ ')') -}}
{% endmacro %}


{% macro planhat_json_array_elements(json_expression) %}
  {#- A set-returning select-list expression: one row per string of a JSON array. -#}
  {{- return(adapter.dispatch('planhat_json_array_elements', 'planhat')(json_expression)) -}}
{% endmacro %}

{% macro default__planhat_json_array_elements(json_expression) %}
  {%- set value = 'cast(' ~ json_expression ~ ' as jsonb)' -%}
  {{- return("jsonb_array_elements_text(case when jsonb_typeof(" ~ value ~ ") = 'array' then "
      ~ value ~ " else '[]'::jsonb end)") -}}
{% endmacro %}

{% macro duckdb__planhat_json_array_elements(json_expression) %}
  {%- set value = 'cast(' ~ json_expression ~ ' as json)' -%}
  {{- return("unnest(case when json_type(" ~ value ~ ") = 'ARRAY' then json_extract_string("
      ~ value ~ ", '$[*]') else []::varchar[] end)") -}}
{% endmacro %}


{% macro planhat_month_spine(first_month, last_month) %}
  {#- select month (date): every first of a month from ``first_month`` to ``last_month``. -#}
  {{- return(adapter.dispatch('planhat_month_spine', 'planhat')(first_month, last_month)) -}}
{% endmacro %}

{% macro default__planhat_month_spine(first_month, last_month) %}
  select cast(generate_series(cast({{ first_month }} as timestamp),
      cast({{ last_month }} as timestamp), interval '1 month') as date) as month
{% endmacro %}

{% macro duckdb__planhat_month_spine(first_month, last_month) %}
  select cast(unnest(generate_series(cast({{ first_month }} as timestamp),
      cast({{ last_month }} as timestamp), interval 1 month)) as date) as month
{% endmacro %}


{% macro planhat_today() %}
  {#- "Today" of every mart: var planhat_as_of_date, else the current UTC date. -#}
  {%- set as_of = var('planhat_as_of_date', '') -%}
  {%- if as_of -%}
    {{- return("cast('" ~ modules.datetime.date.fromisoformat(as_of | string).isoformat()
        ~ "' as date)") -}}
  {%- endif -%}
  {{- return("cast(timezone('UTC', current_timestamp) as date)") -}}
{% endmacro %}


{% macro planhat_month_of(day) %}
  {{- return('cast(' ~ dbt.date_trunc('month', day) ~ ' as date)') -}}
{% endmacro %}


{% macro planhat_month_end(month) %}
  {{- return('cast(' ~ dbt.last_day(month, 'month') ~ ' as date)') -}}
{% endmacro %}


{% macro planhat_add_days(day, days) %}
  {{- return('cast(' ~ dbt.dateadd('day', days, day) ~ ' as date)') -}}
{% endmacro %}


{% macro planhat_list(values) %}
  {#- ('a', 'b') for an ``in`` list of strings. -#}
  {%- set quoted = [] -%}
  {%- for value in values -%}
    {%- do quoted.append("'" ~ (value | string | replace("'", "''")) ~ "'") -%}
  {%- endfor -%}
  {{- return('(' ~ quoted | join(', ') ~ ')') -}}
{% endmacro %}
