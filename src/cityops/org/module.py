"""The manifest of the 1+18+X org tree (R1): its API, tables and commands."""

from cityops.kit.module import Command, Module

module = Module(
    name="org",
    title="组织架构（1+18+X）",
    routers=("cityops.org_api.api:router",),
    tables=("cityops.org.models",),
    permissions=("org.read", "org.import"),
    commands=(Command("org", "cityops.org.cli:app"),),
    body_limits=("cityops.org_api.api:BODY_LIMITS",),
)
