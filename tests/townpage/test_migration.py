"""Migration 0011 builds exactly the town_page and town_link tables of the models, and goes down."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Backend
from tests.migrations import assert_up_down_up, model_differences

TABLES = {"town_page", "town_link"}


def test_the_tables_match_the_models_on_both_backends(backend: Backend) -> None:
    assert model_differences(backend.settings.database_url, TABLES) == []


def test_0011_goes_up_and_down(tmp_path: Path) -> None:
    assert_up_down_up(tmp_path / "m.db", "0011", "0010", TABLES)
