{{ planhat_staging_with_users('workspaces', custom_fields_of='Workspace', users=['owner']) }}
