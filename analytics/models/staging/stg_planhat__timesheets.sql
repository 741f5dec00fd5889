{{ planhat_staging('timesheets', custom_fields_of='Timesheet') }}
