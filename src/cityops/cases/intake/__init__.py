"""Opening cases: one idempotent path for the API, every source adapter, the portal and the bus."""
