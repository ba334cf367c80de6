"""The sharing module's own Alembic branch (`sharing`)."""
