"""Problems of the event flow, registered with the platform's problem types."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cityops.kit.errors import PROBLEM_TYPES, ProblemError

PROBLEM_TYPES.setdefault(
    "illegal-transition",
    (
        "Action not allowed in this state",
        "The case's workflow does not allow this action now; see allowed_actions.",
    ),
)


class IllegalTransition(ProblemError):
    """409: the workflow table has no such move from the case's state (or a guard refuses it)."""

    def __init__(self, state: str, action: str, allowed: Sequence[str], why: str = "") -> None:
        detail = why or f"a {state} case cannot be {action!r}-ed"
        super().__init__(
            409,
            "illegal-transition",
            detail,
            state=state,
            action=action,
            allowed_actions=list(allowed),
        )


def invalid(field: str, message: str, kind: str = "value_error") -> ProblemError:
    """422 naming one body field."""
    return ProblemError(
        422, "validation", message, errors=[{"loc": ["body", field], "msg": message, "type": kind}]
    )


def invalid_query(field: str, message: str) -> ProblemError:
    """422 naming one query parameter."""
    errors: list[dict[str, Any]] = [{"loc": ["query", field], "msg": message, "type": "value"}]
    return ProblemError(422, "validation", message, errors=errors)
