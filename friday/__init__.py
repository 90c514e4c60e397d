"""Friday: a process-first CRM for small service businesses."""
