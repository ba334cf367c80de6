"""Migration 0009 builds exactly the media_photo table of the model, and goes back down."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Backend
from tests.migrations import assert_up_down_up, model_differences

TABLES = {"media_photo"}


def test_the_table_matches_the_model_on_both_backends(backend: Backend) -> None:
    assert model_differences(backend.settings.database_url, TABLES) == []


def test_0009_goes_up_and_down(tmp_path: Path) -> None:
    assert_up_down_up(tmp_path / "m.db", "0009", "0008", TABLES)
