{{ planhat_staging_with_users('conversations', custom_fields_of='Conversation', users=['owner']) }}
