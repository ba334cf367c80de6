"""Data scope: the set of org-code prefixes a principal may see, applied to every query."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, false, or_
from sqlalchemy.orm import QueryableAttribute

S = TypeVar("S", bound=Select[*tuple[Any, ...]])
Column = ColumnElement[str] | QueryableAttribute[str]


@dataclass(frozen=True, slots=True)
class DataScope:
    """A set of org-code prefixes; a row is visible when its owner code starts with one."""

    prefixes: frozenset[str]

    @classmethod
    def of(cls, codes: Iterable[str]) -> DataScope:
        """Build a scope from codes, dropping any code already covered by a shorter one."""
        ordered = sorted(set(codes), key=len)
        kept: list[str] = []
        for code in ordered:
            if not any(code.startswith(prefix) for prefix in kept):
                kept.append(code)
        return cls(frozenset(kept))

    @classmethod
    def everything(cls) -> DataScope:
        """A scope that sees every row (system tasks, not principals)."""
        return cls(frozenset({""}))

    @classmethod
    def nothing(cls) -> DataScope:
        """A scope that sees no row."""
        return cls(frozenset())

    def allows(self, code: str) -> bool:
        """Whether a row owned by `code` is inside the scope."""
        return any(code.startswith(prefix) for prefix in self.prefixes)

    def covers_ancestor(self, code: str) -> bool:
        """Whether `code` is an ancestor of something in scope (so it may be shown as a path)."""
        return any(prefix.startswith(code) for prefix in self.prefixes)

    def clause(self, column: Column) -> ColumnElement[bool]:
        """The SQL condition that keeps only rows whose `column` is in scope."""
        if not self.prefixes:
            return false()
        return or_(
            *(column.startswith(prefix, autoescape=True) for prefix in sorted(self.prefixes))
        )


def scoped(stmt: S, column: Column, scope: DataScope) -> S:
    """Restrict a SELECT to the rows a scope may see: every repository query passes here."""
    return stmt.where(scope.clause(column))
