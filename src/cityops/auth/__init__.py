"""Accounts, roles, sessions, API keys for systems, permissions and the audit log."""
