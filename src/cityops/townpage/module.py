"""The manifest of town pages (R3.4, R3.5) and their remote link tokens."""

from cityops.kit.module import Module

module = Module(
    name="townpage",
    title="街镇页面",
    requires=("org", "auth", "media"),
    routers=("cityops.townpage.api:router",),
    tables=("cityops.townpage.models",),
)
