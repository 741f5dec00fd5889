{#
  Staging from the columns documented in the model's schema.yml entry.

  Every documented column of a staging model is read from the Planhat field in
  `meta.field` (default: the column name in camelCase, `company_id` -> `companyId`) and
  cast to its `data_type` (text, numeric, bigint, boolean, timestamp, date, json);
  `meta.kind` names a conversion (epoch_day, loose_epoch_day, user_ref, json_text).
  Columns marked `meta: {derived: true}` are computed by the model itself and skipped here.
  A field the loaded table lacks (a newer schema, a loader that dropped it) is null, and a
  stream that was not loaded at all gives an empty relation with the same columns, so the
  package builds whatever streams were selected. Records the tap detected as deleted
  (`_sdc_deleted_at`, tap setting `detect_deletes`) are left out.
#}

{% macro planhat_relation(table) %}
  {#- The loaded table of a stream, or none when it does not exist. -#}
  {%- set declared = source('planhat', table) -%}
  {%- if not execute -%}
    {{ return(none) }}
  {%- endif -%}
  {{ return(adapter.get_relation(
      database=declared.database, schema=declared.schema, identifier=declared.identifier)) }}
{% endmacro %}


{% macro planhat_columns_of(relation) %}
  {#- Lower-cased column name -> column of ``relation`` (none: empty). -#}
  {%- set found = {} -%}
  {%- if relation is not none -%}
    {%- for column in adapter.get_columns_in_relation(relation) -%}
      {%- do found.update({column.name | lower: column}) -%}
    {%- endfor -%}
  {%- endif -%}
  {{ return(found) }}
{% endmacro %}


{% macro planhat_camel(name) %}
  {%- set parts = name.split('_') -%}
  {{- return(parts[0] ~ (parts[1:] | map('capitalize') | join(''))) -}}
{% endmacro %}


{% macro planhat_staging(table, custom_fields_of=none) %}
  {#- select <documented columns> [, custom_<field> ...] from the stream's table. -#}
  {%- set relation = planhat_relation(table) -%}
  {%- set available = planhat_columns_of(relation) -%}
  {%- set selected = [] -%}
  {%- for name, column in model.columns.items() -%}
    {%- set meta = column.meta or {} -%}
    {%- if not meta.get('derived') -%}
      {%- set field = meta.get('field') or planhat_camel(name) -%}
      {%- set found = available.get(field | lower) -%}
      {%- set kind = meta.get('kind') or column.data_type -%}
      {%- if found is none -%}
        {%- do selected.append('cast(null as ' ~ planhat_type(column.data_type) ~ ') as ' ~ name) -%}
      {%- else -%}
        {%- set expression = 'source.' ~ adapter.quote(found.name) -%}
        {%- do selected.append(planhat_convert(kind, expression, found) ~ ' as ' ~ name) -%}
      {%- endif -%}
    {%- endif -%}
  {%- endfor -%}
  {%- if custom_fields_of -%}
    {%- for item in planhat_custom_field_columns(custom_fields_of, available) -%}
      {%- do selected.append(item) -%}
    {%- endfor -%}
  {%- endif %}
select
    {{ selected | join(',\n    ') }}
{%- if relation is none %}
from (select 1 as stream_not_loaded) as source
where 1 = 0
{%- else %}
from {{ relation }} as source
{%- if '_sdc_deleted_at' in available %}
where source.{{ adapter.quote(available['_sdc_deleted_at'].name) }} is null
{%- endif %}
{%- endif %}
{% endmacro %}
