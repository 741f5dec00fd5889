{{ planhat_staging('workflows', custom_fields_of='Workflow') }}
