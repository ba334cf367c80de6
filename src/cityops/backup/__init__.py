"""Backup and recovery: encrypted archives of the database, the photos and the keys."""
