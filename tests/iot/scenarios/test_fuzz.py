"""The scenarios API in the schemathesis run: its routes are in the document, none answers 5xx.

The platform-wide run (tests/security/test_fuzz_api.py) covers every operation with a few
examples; this one sends more to the scenario routes, as the roles that author and act.
"""

from __future__ import annotations

import pytest
from schemathesis import GenerationMode

from tests.security import test_fuzz_api as fuzz
from tests.security.test_fuzz_api import Fuzzed, Outcome, fuzzed

__all__ = ["fuzzed"]
PREFIX = "/api/v1/iot/scenarios"
EXPECTED = {
    ("GET", f"{PREFIX}/templates"),
    ("POST", f"{PREFIX}/templates"),
    ("POST", f"{PREFIX}/templates/{{code}}/versions"),
    ("GET", f"{PREFIX}/instances"),
    ("POST", f"{PREFIX}/instances"),
    ("GET", f"{PREFIX}/instances/{{instance_id}}"),
    ("PATCH", f"{PREFIX}/instances/{{instance_id}}"),
    ("GET", f"{PREFIX}/events"),
    ("GET", f"{PREFIX}/health"),
    ("POST", f"{PREFIX}/events/{{event_id}}/ack"),
    ("POST", f"{PREFIX}/events/{{event_id}}/clear"),
}


@pytest.mark.parametrize("role", ["t_duty", "t_sijing", "t_leader"])
def test_the_scenario_routes_are_fuzzed_without_server_errors(
    fuzzed: Fuzzed, role: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    operations = [r.ok() for r in fuzzed.schema.get_all_operations()]
    mine = [op for op in operations if op.path.startswith(PREFIX)]
    assert {(op.method.upper(), op.path) for op in mine} == EXPECTED
    monkeypatch.setattr(fuzz, "POSITIVE", 12)
    monkeypatch.setattr(fuzz, "NEGATIVE", 6)
    outcome = Outcome()
    for operation in mine:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz._run(fuzzed, operation, mode, role, outcome)
    assert outcome.cases >= 5 * len(mine)
    assert not outcome.errors, "\n".join(outcome.errors)
