"""Maps: layers' HTTP face, vector tiles (MVT), the MapLibre style, the embeddable page."""
