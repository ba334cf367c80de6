"""The routing rules of a process, read again only when their stamp in the database moves.

Every intake routes by the rules, and reading them all was one of the statements each case
cost. Rules are only ever added or removed (`POST`/`DELETE /api/v1/cases/routing-rules`), and
ids only grow, so (how many, highest id) changes with every edit: that stamp is read instead,
by intake in the same round trip as its idempotence check (`CaseRepository.intake_facts`).
The stamp is read in the caller's transaction, so a rule added by another worker counts from
the next case on: nothing waits for a cache to expire.
"""

from __future__ import annotations

from cityops.cases.flow.routing import Rule
from cityops.cases.repository import CaseRepository, RulesStamp
from cityops.kit.scope import DataScope


class RuleCache:
    """The last rules read, with the stamp they were read under."""

    def __init__(self) -> None:
        self._stamp: RulesStamp | None = None
        self._rules: tuple[Rule, ...] = ()

    async def current(
        self, repo: CaseRepository, stamp: RulesStamp | None = None
    ) -> tuple[Rule, ...]:
        """The rules in force; `stamp` when the caller has read it already."""
        if stamp is None:
            stamp = await repo.rules_stamp()
        if stamp != self._stamp:
            # Read after the stamp: the rows can only be as new or newer, and newer rows under
            # an older stamp are read again next time, never kept past an edit.
            rows = await repo.rules(DataScope.everything())
            self._rules = tuple(Rule.of(row) for row in rows)
            self._stamp = stamp
        return self._rules
