{{ planhat_staging('sales', custom_fields_of='Sale') }}
