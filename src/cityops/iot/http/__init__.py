"""The hub's HTTP face: telemetry push, registry and read endpoints, device pages."""
