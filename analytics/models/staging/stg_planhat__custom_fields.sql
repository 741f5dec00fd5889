{{ planhat_staging('custom_fields') }}
