{{ planhat_staging_with_users('assets', custom_fields_of='Asset', users=['owner']) }}
