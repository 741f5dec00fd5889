{{ planhat_staging_with_users('projects', custom_fields_of='Project', users=['owner']) }}
