"""Data life cycle (R10.2): data classes and their retention, anonymising, subject requests."""
