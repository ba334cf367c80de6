"""Migration 0016: the chain columns and head row match the models, the append-only
triggers survive it on SQLite, and it goes back down."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from cityops.kit.migrate import upgrade
from tests.conftest import Backend
from tests.migrations import assert_up_down_up, model_differences

TABLES = {"audit_chain"}


def test_the_tables_match_the_models_on_both_backends(backend: Backend) -> None:
    assert model_differences(backend.settings.database_url, {"audit_log", "audit_chain"}) == []


def test_0015_goes_up_and_down(tmp_path: Path) -> None:
    assert_up_down_up(tmp_path / "m.db", "0016", "0015", TABLES)


def test_the_triggers_and_the_head_row_are_there_after_it(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    upgrade(f"sqlite+aiosqlite:///{path}", "0016")
    with sqlite3.connect(path) as conn:
        triggers = {
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'")
        }
        head = conn.execute("SELECT id, last_seq, anchor_seq, tag FROM audit_chain").fetchall()
    assert {"audit_log_no_update", "audit_log_no_delete"} <= triggers
    assert head == [(1, 0, 0, "")]
