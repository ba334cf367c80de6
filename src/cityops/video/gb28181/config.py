"""The settings of one platform role, independent of the app's Settings (tests build them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PlatformConfig:
    """Who we are on the SIP side and how strict we are."""

    platform_id: str  # our 20-digit code, type 200
    domain: str  # the SIP domain: the first 10 digits of the platform ID by convention
    password: str  # the shared registration password (per-device passwords come later)
    host: str = "127.0.0.1"
    port: int = 5060
    advertised_host: str = "127.0.0.1"  # what goes into our Via and From when we send
    keepalive_interval: float = 60.0  # GB/T 28181-2016 default; offline after 3 missed
    keepalive_misses: int = 3
    min_expires: int = 60
    max_expires: int = 86_400
    register_limit: int = 20  # REGISTERs per address …
    register_window: float = 1.0  # … per this many seconds, then 503 + Retry-After
    catalog_timeout: float = 10.0  # a catalog quiet this long is taken as it is
    query_on_register: bool = True  # ask DeviceInfo and Catalog after a new registration
