"""Migration iot0002 builds exactly the hub's tables of the models, with the base profiles."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from cityops.iot.profiles import BASE_PROFILES
from tests.conftest import Backend
from tests.migrations import assert_up_down_up, model_differences

TABLES = {
    "iot_profile",
    "iot_gateway",
    "iot_device",
    "telemetry",
    "telemetry_latest",
    "iot_dead_letter",
}


def test_the_tables_match_the_models_on_both_backends(backend: Backend) -> None:
    assert model_differences(backend.settings.database_url, TABLES) == []


def test_iot0002_goes_up_and_down_and_seeds_the_base_profiles(tmp_path: Path) -> None:
    assert_up_down_up(tmp_path / "m.db", "iot0002", "iot0001", TABLES)
    with sqlite3.connect(tmp_path / "m.db") as db:
        codes = {row[0] for row in db.execute("SELECT code FROM iot_profile")}
    assert codes == {p.code for p in BASE_PROFILES}
