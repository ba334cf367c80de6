"""The manifest of the labelled-synthetic simulator: its command."""

from cityops.kit.module import Command, Module

module = Module(
    name="simulate",
    title="模拟数据",
    commands=(Command("simulate", "cityops.simulate.cli:app"),),
)
