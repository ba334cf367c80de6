"""The cases tables match the model; migrations 0014 (narrow indexes) and 0015 (citizen source)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from cityops.kit.migrate import downgrade, upgrade
from tests.conftest import Backend
from tests.migrations import model_differences

TABLES = {"case_record", "case_event", "case_timer", "case_extension", "routing_rule"}
NARROW = {"ix_case_record_category", "ix_case_record_closed_at", "ix_case_record_handle_due_at"}


def case_indexes(path: Path) -> set[str]:
    """The names of case_record's indexes in a SQLite file."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT name FROM sqlite_master WHERE type='index' AND tbl_name='case_record'"
        )
        return {r[0] for r in rows}


#: PostgreSQL-only indexes for scope prefixes (LIKE '3101171%'), made by migration 0003 alone.
PG_PATTERN_INDEXES = {"ix_case_record_owner_pattern", "ix_routing_rule_owner_pattern"}


def test_the_tables_match_the_model_on_both_backends(backend: Backend) -> None:
    found = model_differences(backend.settings.database_url, TABLES)
    assert [d for d in found if not _pattern_index(d)] == []


def _pattern_index(difference: tuple[object, ...]) -> bool:
    return difference[0] == "remove_index" and getattr(difference[1], "name", "") in (
        PG_PATTERN_INDEXES
    )


def test_0014_drops_the_narrow_indexes_and_goes_back(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url, "0013")
    assert case_indexes(path) >= NARROW
    upgrade(url, "0014")
    left = case_indexes(path)
    assert not NARROW & left
    assert {"ix_case_record_category_created", "ix_case_record_closed_period"} <= left
    downgrade(url, "0013")
    assert case_indexes(path) >= NARROW
    upgrade(url, "heads")
    assert not NARROW & case_indexes(path)


def test_0015_moves_the_h5_pages_cases_to_the_citizen_source(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url, "0014")
    with sqlite3.connect(path) as conn:
        for key in ("h5-abc", "m-abc", None):
            conn.execute(
                "INSERT INTO case_record (version, source, source_key, category, text, address,"
                " owner_code, loop_level, status, urgency, photos, returns, reworks, overdue,"
                " escalate_on_breach, created_by, created_at, updated_at) VALUES (1, 'mobile',"
                " ?, 'event:0102', 't', '', '310117', 'town', 'received', 'normal', '[]', 0, 0,"
                " 0, 0, '', '2026-12-01 00:00:00', '2026-12-01 00:00:00')",
                (key,),
            )
    upgrade(url, "0015")
    assert _sources(path) == [("h5-abc", "citizen"), ("m-abc", "mobile"), (None, "mobile")]
    downgrade(url, "0014")
    assert {source for _, source in _sources(path)} == {"mobile"}


def _sources(path: Path) -> list[tuple[str | None, str]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT source_key, source FROM case_record ORDER BY id")
        return [(r[0], r[1]) for r in rows]
