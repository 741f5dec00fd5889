{{ planhat_staging('invoices', custom_fields_of='Invoice') }}
