{#
  Custom fields as typed columns, generated from the tenant's definitions (the
  `custom_fields` stream: name, type, parent model) when the model is built.

  Each definition of the model becomes `custom_<name in snake_case>`, typed by the custom
  field's type as tap-planhat types it: number and rating numeric, checkbox boolean, day and
  date timestamp, multipicklist, team members and endusers JSON arrays, anything else text.
  Values come from the `custom` JSON column, or from `custom__<name>` columns when the tap
  flattened them (flattening_enabled). Without the custom_fields stream there are none.
#}

{% macro planhat_custom_field_type(custom_type) %}
  {%- set types = {
      'number': 'numeric', 'rating': 'numeric', 'checkbox': 'boolean',
      'day': 'timestamp', 'date': 'timestamp',
      'multipicklist': 'json', 'team members': 'json', 'endusers': 'json',
  } -%}
  {{- return(types.get((custom_type or '') | lower, 'text')) -}}
{% endmacro %}


{% macro planhat_snake(name) %}
  {#- "Seats Purchased" -> seats_purchased; camelCase -> camel_case. -#}
  {%- set spaced = modules.re.sub('([a-z0-9])([A-Z])', '\\1_\\2', name | string) -%}
  {{- return(modules.re.sub('[^0-9a-zA-Z]+', '_', spaced).strip('_') | lower) -}}
{% endmacro %}


{% macro planhat_custom_field_definitions(parent) %}
  {#- [(name, type)] of the custom fields defined on ``parent`` (Planhat's model name). -#}
  {%- set relation = planhat_relation('custom_fields') -%}
  {%- if relation is none -%}
    {{ return([]) }}
  {%- endif -%}
  {%- set columns = planhat_columns_of(relation) -%}
  {%- if 'name' not in columns or 'parent' not in columns or 'type' not in columns -%}
    {{ return([]) }}
  {%- endif -%}
  {%- set query -%}
    select distinct
        cast({{ adapter.quote(columns['name'].name) }} as {{ dbt.type_string() }}) as name,
        cast({{ adapter.quote(columns['type'].name) }} as {{ dbt.type_string() }}) as type
    from {{ relation }}
    where {{ adapter.quote(columns['parent'].name) }} = '{{ parent }}'
      and {{ adapter.quote(columns['name'].name) }} is not null
      {%- if '_sdc_deleted_at' in columns %}
      and {{ adapter.quote(columns['_sdc_deleted_at'].name) }} is null
      {%- endif %}
    order by 1, 2
  {%- endset -%}
  {%- set rows = run_query(query) -%}
  {%- set definitions = [] -%}
  {%- set seen = [] -%}
  {%- for row in rows -%}
    {%- if row[0] not in seen -%}
      {%- do seen.append(row[0]) -%}
      {%- do definitions.append((row[0], row[1])) -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return(definitions) }}
{% endmacro %}


{% macro planhat_custom_field_columns(parent, available) %}
  {#- Select-list items ``<expression> as custom_<name>`` for ``parent``'s custom fields. -#}
  {%- if not execute -%}
    {{ return([]) }}
  {%- endif -%}
  {%- set items = [] -%}
  {%- set used = [] -%}
  {%- for name, custom_type in planhat_custom_field_definitions(parent) -%}
    {%- set type_name = planhat_custom_field_type(custom_type) -%}
    {%- set column = namespace(name=planhat_unique_name('custom_' ~ planhat_snake(name), used)) -%}
    {%- set flattened = available.get(('custom__' ~ name) | lower) -%}
    {%- if flattened is not none -%}
      {%- set expression = planhat_convert(type_name, 'source.' ~ adapter.quote(flattened.name), flattened) -%}
    {%- elif 'custom' in available -%}
      {%- set expression = planhat_json_field(
          'source.' ~ adapter.quote(available['custom'].name), name, type_name) -%}
    {%- else -%}
      {%- set expression = 'cast(null as ' ~ planhat_type(type_name) ~ ')' -%}
    {%- endif -%}
    {%- do items.append(expression ~ ' as ' ~ adapter.quote(column.name)) -%}
  {%- endfor -%}
  {{ return(items) }}
{% endmacro %}


{% macro planhat_columns_like(relation, prefix, alias) %}
  {#- ``alias.<column>`` for every column of ``relation`` whose name starts with ``prefix``. -#}
  {%- set items = [] -%}
  {%- if execute -%}
    {%- for column in adapter.get_columns_in_relation(relation) -%}
      {%- if column.name.lower().startswith(prefix) -%}
        {%- do items.append(alias ~ '.' ~ adapter.quote(column.name)) -%}
      {%- endif -%}
    {%- endfor -%}
  {%- endif -%}
  {{ return(items) }}
{% endmacro %}


{% macro planhat_unique_name(base, used) %}
  {#- ``base`` (``base_2``, ... when taken) as a column name, remembered in ``used``. -#}
  {%- set name = namespace(value=base) -%}
  {%- for n in range(2, 1000) -%}
    {%- if name.value in used -%}
      {%- set name.value = base ~ '_' ~ n -%}
    {%- endif -%}
  {%- endfor -%}
  {%- do used.append(name.value) -%}
  {{ return(name.value) }}
{% endmacro %}
