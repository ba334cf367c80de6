"""The manifest of sharing (分层共享, R6.3, R4.2, R5.2): applications, approval, grants."""

from cityops.kit.module import Module, NavEntry

module = Module(
    name="sharing",
    title="分层共享",
    requires=("org", "auth"),
    routers=("cityops.sharing.api:router", "cityops.portal.sharing_pages:router"),
    tables=("cityops.sharing.models",),
    migrations="cityops.sharing.migrations",
    setup="cityops.sharing.runtime:set_up",
    permissions=("sharing.apply", "sharing.approve"),
    nav=(
        NavEntry(
            "共享审批",
            "/sharing/review",
            order=60,
            permission="sharing.approve",
            active_prefix="/sharing/review",
        ),
        NavEntry(
            "我的申请",
            "/sharing/mine",
            order=61,
            permission="sharing.apply",
            active_prefix="/sharing/mine",
        ),
    ),
)
