"""The manifest of the data life cycle: retention per class, anonymising, subject requests."""

from cityops.kit.module import Command, Module

module = Module(
    name="lifecycle",
    title="数据生命周期",
    requires=("auth", "cases"),
    routers=("cityops.lifecycle.api:router",),
    start="cityops.lifecycle.runtime:start_lifecycle",
    stop="cityops.lifecycle.runtime:stop_lifecycle",
    scheduler_jobs=("cityops.lifecycle.runtime:run_lifecycle",),
    permissions=("privacy.manage",),
    commands=(Command("privacy", "cityops.lifecycle.cli:app"),),
)
