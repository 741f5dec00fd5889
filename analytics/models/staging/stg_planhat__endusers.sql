{{ planhat_staging('endusers', custom_fields_of='EndUser') }}
