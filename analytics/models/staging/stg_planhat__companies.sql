{{ planhat_staging_with_users('companies', custom_fields_of='Company', users=['owner', 'co_owner']) }}
