{{ planhat_staging_with_users('opportunities', custom_fields_of='Opportunity', users=['owner']) }}
