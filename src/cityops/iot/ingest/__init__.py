"""Ingestion: payloads checked against the registry, stored in batches, handed to sinks."""
