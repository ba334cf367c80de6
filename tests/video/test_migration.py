"""Migration video0001 builds exactly the registry tables of the models, and goes back down."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Backend
from tests.migrations import assert_up_down_up, model_differences

TABLES = {"video_device", "video_channel"}


def test_the_tables_match_the_models_on_both_backends(backend: Backend) -> None:
    assert model_differences(backend.settings.database_url, TABLES) == []


def test_video0001_goes_up_and_down(tmp_path: Path) -> None:
    assert_up_down_up(tmp_path / "v.db", "video0001", "video@base", TABLES)
