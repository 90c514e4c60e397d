"""Accounts: users, their roles and teams, what each may see, and API tokens."""
