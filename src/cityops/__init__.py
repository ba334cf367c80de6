"""cityops: the software of a district city operations centre (城运中心) and its street/town centres."""

__version__ = "0.1.0"
