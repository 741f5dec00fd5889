{# Generic tests used in schema.yml (no dbt packages: only PyPI is reachable everywhere). #}

{% test planhat_unique_combination(model, columns) %}
  {#- No two rows share the values of ``columns``. -#}
  select {{ columns | join(', ') }}, count(*) as rows_with_these_values
  from {{ model }}
  group by {{ columns | join(', ') }}
  having count(*) > 1
{% endtest %}


{% test planhat_expression_is_true(model, expression, column_name=none) %}
  {#- Every row satisfies ``expression`` (rows where it is false or null fail). -#}
  select *
  from {{ model }}
  where not coalesce(({{ expression }}), false)
{% endtest %}
