"""R7 event flow: cases from report to closure. Other modules import from here, not internals."""

from cityops.cases.events import (
    PUBLISHED,
    CaseCreated,
    CaseDueSoon,
    CaseEscalated,
    CaseFact,
    CaseOverdue,
    CaseTransitioned,
)

__all__ = [
    "PUBLISHED",
    "CaseCreated",
    "CaseDueSoon",
    "CaseEscalated",
    "CaseFact",
    "CaseOverdue",
    "CaseTransitioned",
]
