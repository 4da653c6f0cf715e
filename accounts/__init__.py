"""Accounts: users with roles and assigned districts, password hashing, web sessions and API
tokens."""
