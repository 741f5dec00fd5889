{{ planhat_staging('time_entries', custom_fields_of='TimeEntry') }}
