"""R8 map platform: coordinate systems, boundaries and point-in-unit lookup."""
