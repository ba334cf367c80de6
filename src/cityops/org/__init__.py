"""R1 the 1+18+X tree: district → street/town → community/village → grid, and departments."""
