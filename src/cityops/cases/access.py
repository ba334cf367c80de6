"""Which cases a caller may see and act on: the data scope, narrowed for some roles."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, false

from cityops.auth.principal import Principal
from cityops.auth.roles import Perm, Role
from cityops.cases.models import CaseRecord
from cityops.kit.scope import DataScope, scoped

S = TypeVar("S", bound=Select[*tuple[Any, ...]])


@dataclass(frozen=True, slots=True)
class Actor:
    """Who does something to a case: a person or system account, or the platform itself."""

    name: str
    org_code: str
    account_id: int | None = None
    permissions: frozenset[Perm] = frozenset()

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        """The actor behind a request."""
        return cls(
            principal.username, principal.org_code, principal.account_id, principal.permissions
        )

    @classmethod
    def system(cls, name: str, org_code: str = "") -> Actor:
        """The platform acting on its own (the scheduler, bus intake)."""
        return cls(name, org_code, None, frozenset(Perm))


@dataclass(frozen=True, slots=True)
class CaseAccess:
    """The cases visible to a caller: owner inside the scope, plus a role's narrowing.

    A department handler sees only the cases dispatched to its department; a system client
    only the cases it created (the hotline follows its own orders, not everyone's).
    """

    scope: DataScope
    department_id: int | None = None
    creator_id: int | None = None
    nothing: bool = False

    @classmethod
    def of(cls, principal: Principal) -> CaseAccess:
        """The access of a request's caller."""
        if principal.role == Role.DEPT_HANDLER:
            if principal.department_id is None:
                return cls(principal.scope, nothing=True)
            return cls(principal.scope, department_id=principal.department_id)
        if principal.role == Role.SYSTEM_CLIENT:
            return cls(principal.scope, creator_id=principal.account_id)
        return cls(principal.scope)

    @classmethod
    def everything(cls) -> CaseAccess:
        """Every case (the platform's own tasks)."""
        return cls(DataScope.everything())

    def apply(self, stmt: S) -> S:
        """Restrict a SELECT over case_record to the visible cases."""
        stmt = scoped(stmt, CaseRecord.owner_code, self.scope)
        if self.nothing:
            return stmt.where(false())
        if self.department_id is not None:
            stmt = stmt.where(CaseRecord.department_id == self.department_id)
        if self.creator_id is not None:
            stmt = stmt.where(CaseRecord.created_by_id == self.creator_id)
        return stmt

    def allows(self, case: CaseRecord) -> bool:
        """The same test in memory, for a case already loaded."""
        if self.nothing or not self.scope.allows(case.owner_code):
            return False
        if self.department_id is not None and case.department_id != self.department_id:
            return False
        return self.creator_id is None or case.created_by_id == self.creator_id
