{{ planhat_staging('churn', custom_fields_of='Churn') }}
