"""The manifest of the overview (总览): its API and the live parts fed by case events."""

from cityops.kit.module import Module, Subscription

_ON_CASE = "cityops.overview.live:case_listener"

module = Module(
    name="overview",
    title="总览",
    requires=("cases",),
    routers=("cityops.overview.api:router",),
    start="cityops.overview.live:start_overview",
    subscriptions=tuple(
        # Fanout: every worker's screens hear every worker's case events.
        Subscription(f"cityops.cases:{event}", _ON_CASE, fanout=True)
        for event in (
            "CaseCreated",
            "CaseTransitioned",
            "CaseEscalated",
            "CaseDueSoon",
            "CaseOverdue",
        )
    ),
)
