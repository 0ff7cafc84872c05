"""Persistence: table definitions, the repository (every SQL statement), migrations."""
