{{ planhat_staging('campaigns', custom_fields_of='Campaign') }}
