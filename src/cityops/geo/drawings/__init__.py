"""User-drawn map features (标绘): their tables and the rules for changing them."""
