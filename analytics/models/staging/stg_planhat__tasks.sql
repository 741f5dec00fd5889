{{ planhat_staging_with_users('tasks', custom_fields_of='Task', users=['owner']) }}
