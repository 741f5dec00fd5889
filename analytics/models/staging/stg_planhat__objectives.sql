{{ planhat_staging_with_users('objectives', custom_fields_of='Objective', users=['owner']) }}
