"""The command tables match the model on both backends; cmd0001 goes up, down and up again."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Backend
from tests.migrations import assert_up_down_up, model_differences

TABLES = {
    "command_incident",
    "command_incident_case",
    "command_timeline",
    "command_plan",
    "command_activation",
    "command_order",
}


def test_the_tables_match_the_model_on_both_backends(backend: Backend) -> None:
    assert model_differences(backend.settings.database_url, TABLES) == []


def test_cmd0001_goes_up_down_and_up(tmp_path: Path) -> None:
    assert_up_down_up(tmp_path / "cmd.db", "cmd0001", "command@base", TABLES)
