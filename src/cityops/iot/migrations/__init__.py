"""The IoT hub's own Alembic branch (`iot`)."""
