"""Accounts: the organisations that share the platform (and, later, their people and keys)."""
