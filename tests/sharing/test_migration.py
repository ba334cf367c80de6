"""Migration share0001 builds exactly the tables of sharing's models, and goes down."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Backend
from tests.migrations import assert_up_down_up, model_differences

TABLES = {"share_application", "share_grant", "share_access"}


def test_the_tables_match_the_models_on_both_backends(backend: Backend) -> None:
    assert model_differences(backend.settings.database_url, TABLES) == []


def test_share0001_goes_up_and_down(tmp_path: Path) -> None:
    assert_up_down_up(tmp_path / "m.db", "share0001", "sharing@base", TABLES)
