"""The manifest of the event flow (R7): cases, their sources, timers, map layer and commands."""

from cityops.kit.module import Contribution, Module, NavEntry, Subscription

#: What opens a case from the bus: the publishers' event types, heard by cases' intake.
_INTAKE = "cityops.cases.intake.bus:handler_for"

module = Module(
    name="cases",
    title="事件流转",
    requires=("org", "auth", "geo", "media"),
    # Most traffic is cases reported and moved on: their routes are tried first.
    route_order=0,
    routers=(
        "cityops.cases.http.api:router",
        "cityops.cases.sources.grid.api:router",
        "cityops.cases.sources.town.api:router",
        "cityops.cases.sources.open311.api:router",
        "cityops.cases.http.subscribers:router",
    ),
    tables=("cityops.cases.models", "cityops.cases.notices.subscribers"),
    start="cityops.cases.runtime:start_cases",
    stop="cityops.cases.runtime:stop_cases",
    subscriptions=(
        Subscription("cityops.iot:SceneEvent", _INTAKE),
        Subscription("cityops.ai:Detection", _INTAKE),
        Subscription("cityops.video:VideoAlarm", _INTAKE),
        Subscription("cityops.command:IncidentDeclared", _INTAKE),
    ),
    map_layers=("cityops.cases.map_layer:CASES_LAYER",),
    scheduler_jobs=("cityops.cases.runtime:run_scheduler",),
    permissions=(
        "case.read",
        "case.create",
        "case.dispatch",
        "case.handle",
        "case.verify",
        "case.evaluate",
        "case.supervise",
        "case.contact",
        "case.rules",
    ),
    nav=(
        NavEntry("事件工作台", "/cases", order=30, permission="case.read", active_prefix="/cases"),
        NavEntry("移动端", "/m/", order=31, permission="case.read", active_prefix="/m/"),
    ),
    contributes=(
        # WeCom and official-account notices of case steps, written to the outbox.
        Contribution("cases.timeline_hooks", "cityops.cases.notices.wechat:wechat_notices"),
        # Closed cases' content is cleared when the case class's retention is over.
        Contribution("lifecycle.retention", "cityops.cases.privacy:CASE_CONTENT_RULE"),
    ),
)
