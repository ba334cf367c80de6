"""The 12345 hotline adapter: work orders in, signed callbacks out."""
