"""The event bus as operators see it: health API, relay channel and `cityops bus` commands."""
