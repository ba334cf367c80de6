"""The video hub's own Alembic branch (`video`)."""
