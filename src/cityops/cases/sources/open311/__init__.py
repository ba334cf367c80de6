"""The Open311 GeoReport v2 facade (https://wiki.open311.org/GeoReport_v2)."""
