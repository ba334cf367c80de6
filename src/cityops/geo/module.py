"""The manifest of the map platform (R8): coordinates, lookup, geocoding, tiles and maps."""

from cityops.kit.module import Command, Module

module = Module(
    name="geo",
    title="地图平台",
    requires=("org", "auth"),
    routers=(
        "cityops.geo.api:router",
        "cityops.geo.address.api:router",
        "cityops.geo.map.api:router",
    ),
    tables=("cityops.geo.address.models", "cityops.geo.drawings.models"),
    setup="cityops.geo.crs:register_settings_crs",
    map_layers=("cityops.geo.org_layers:BUILTIN_LAYERS",),
    commands=(Command("geo", "cityops.geo.cli:app"),),
    body_limits=(
        "cityops.geo.api:BOUNDARY_BODY_LIMITS",
        "cityops.geo.address.api:GEOCODE_BODY_LIMITS",
    ),
)
