"""Addresses: the parser of Songjiang addresses, the standard address library, geocoding."""
