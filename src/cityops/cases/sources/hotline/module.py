"""The manifest of the 12345 adapter: its API and table, its callbacks' channel and hook."""

from cityops.kit.module import Contribution, Module

module = Module(
    name="hotline",
    title="12345 热线工单",
    requires=("cases", "outbox"),
    route_order=0,
    routers=("cityops.cases.sources.hotline.api:router",),
    tables=("cityops.cases.sources.hotline.models",),
    # Signed callbacks to the hotline, one per case step, through the outbox.
    outbox_channels=("cityops.cases.sources.hotline.callbacks:webhook_channels",),
    contributes=(
        Contribution(
            "cases.timeline_hooks", "cityops.cases.sources.hotline.callbacks:hotline_callbacks"
        ),
    ),
)
