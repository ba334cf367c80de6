"""The case timeline (case_event) cannot be edited or erased in the database itself."""

from __future__ import annotations

from tests.auth.test_audit import tamper_with_log
from tests.cases.conftest import Api, Places
from tests.conftest import Backend


def test_the_case_timeline_refuses_update_delete_and_truncate(
    api: Api, places: Places, backend: Backend
) -> None:
    api.open_case("t_duty", places["310117102001"])
    lost, errors, tries = tamper_with_log(backend, "case_event")
    assert lost == 0
    assert len(errors) == tries
    assert all("case_event is append-only" in error for error in errors)
