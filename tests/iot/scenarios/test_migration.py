"""Migration iot0003 builds exactly the scenario tables of the models, and goes down."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Backend
from tests.migrations import assert_up_down_up, model_differences

TABLES = {"iot_scenario_template", "iot_scenario_instance", "iot_scene_event"}


def test_the_tables_match_the_models_on_both_backends(backend: Backend) -> None:
    assert model_differences(backend.settings.database_url, TABLES) == []


def test_iot0003_goes_up_and_down(tmp_path: Path) -> None:
    assert_up_down_up(tmp_path / "m.db", "iot0003", "iot0001", TABLES)
