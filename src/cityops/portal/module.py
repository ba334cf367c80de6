"""The manifest of the portal: its pages, static files, navigation and form limits."""

from cityops.kit.module import Module, NavEntry

module = Module(
    name="portal",
    title="门户",
    requires=("cases", "overview", "townpage"),
    route_order=200,  # pages after the API: the API carries the machine traffic
    setup="cityops.portal.pages:mount_portal",
    nav=(
        NavEntry("首页", "/", order=0, active_prefix="/org/"),
        NavEntry("总览", "/overview", order=10, permission="org.read", active_prefix="/overview"),
        NavEntry("大屏", "/screen", order=11, permission="org.read"),
        NavEntry("API 文档", "/docs", order=80),
    ),
    body_limits=(
        "cityops.portal.forms:form_body_limits",
        "cityops.portal.townpage_edit:townpage_body_limits",
    ),
)
