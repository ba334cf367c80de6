"""R7 event flow: cases from report to closure. Other modules import from here, not internals.

The events and the glossary load with the package; everything else loads on first use, so a
manifest or a command that only names cases does not import the whole flow.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from cityops.cases.events import (
    PUBLISHED,
    CaseCreated,
    CaseDueSoon,
    CaseEscalated,
    CaseFact,
    CaseOverdue,
    CaseTransitioned,
)
from cityops.cases.glossary import (
    ACTION_LABELS,
    LOOP_LABELS,
    SOURCE_LABELS,
    STATUS_LABELS,
)

if TYPE_CHECKING:
    from cityops.cases.access import (
        Actor,
        CaseAccess,
    )
    from cityops.cases.catalog.codes import (
        category_code,
        find_category,
    )
    from cityops.cases.catalog.shipped import (
        Kind,
        LoopLevel,
        UnknownCategoryError,
        shipped_catalog,
    )
    from cityops.cases.figures import (
        Area,
        AreaFigures,
        OpenRow,
        Performance,
        TodayRow,
        reader_key,
    )
    from cityops.cases.filters import (
        CaseFilter,
    )
    from cityops.cases.flow.effects import (
        divisions_of,
    )
    from cityops.cases.flow.service import (
        ActionInput,
        CaseService,
    )
    from cityops.cases.flow.table import (
        MAIN_LINE,
        TRANSITIONS,
        Action,
        Status,
        lookup,
    )
    from cityops.cases.http.deps import (
        env_of,
    )
    from cityops.cases.http.schemas import (
        ActionRequest,
        CaseCreate,
        new_case,
    )
    from cityops.cases.http.views import (
        category_name,
    )
    from cityops.cases.intake.once import (
        open_case,
    )
    from cityops.cases.intake.opening import (
        Intake,
        Source,
    )
    from cityops.cases.models import (
        CaseEvent,
        CaseExtension,
        CaseRecord,
        CaseTimer,
    )
    from cityops.cases.privacy import (
        HeldContact,
        anonymise_closed,
        contacts_of_phone,
        erase_contacts,
    )

#: Where each lazily loaded name lives.
_LAZY: dict[str, str] = {
    "Actor": "cityops.cases.access",
    "CaseAccess": "cityops.cases.access",
    "category_code": "cityops.cases.catalog.codes",
    "find_category": "cityops.cases.catalog.codes",
    "Kind": "cityops.cases.catalog.shipped",
    "LoopLevel": "cityops.cases.catalog.shipped",
    "UnknownCategoryError": "cityops.cases.catalog.shipped",
    "shipped_catalog": "cityops.cases.catalog.shipped",
    "Area": "cityops.cases.figures",
    "AreaFigures": "cityops.cases.figures",
    "OpenRow": "cityops.cases.figures",
    "Performance": "cityops.cases.figures",
    "TodayRow": "cityops.cases.figures",
    "reader_key": "cityops.cases.figures",
    "CaseFilter": "cityops.cases.filters",
    "divisions_of": "cityops.cases.flow.effects",
    "ActionInput": "cityops.cases.flow.service",
    "CaseService": "cityops.cases.flow.service",
    "Action": "cityops.cases.flow.table",
    "MAIN_LINE": "cityops.cases.flow.table",
    "Status": "cityops.cases.flow.table",
    "TRANSITIONS": "cityops.cases.flow.table",
    "lookup": "cityops.cases.flow.table",
    "env_of": "cityops.cases.http.deps",
    "ActionRequest": "cityops.cases.http.schemas",
    "CaseCreate": "cityops.cases.http.schemas",
    "new_case": "cityops.cases.http.schemas",
    "category_name": "cityops.cases.http.views",
    "open_case": "cityops.cases.intake.once",
    "Intake": "cityops.cases.intake.opening",
    "Source": "cityops.cases.intake.opening",
    "CaseEvent": "cityops.cases.models",
    "CaseExtension": "cityops.cases.models",
    "CaseRecord": "cityops.cases.models",
    "CaseTimer": "cityops.cases.models",
    "HeldContact": "cityops.cases.privacy",
    "anonymise_closed": "cityops.cases.privacy",
    "contacts_of_phone": "cityops.cases.privacy",
    "erase_contacts": "cityops.cases.privacy",
}

__all__ = [
    "ACTION_LABELS",
    "LOOP_LABELS",
    "MAIN_LINE",
    "PUBLISHED",
    "SOURCE_LABELS",
    "STATUS_LABELS",
    "TRANSITIONS",
    "Action",
    "ActionInput",
    "ActionRequest",
    "Actor",
    "Area",
    "AreaFigures",
    "CaseAccess",
    "CaseCreate",
    "CaseCreated",
    "CaseDueSoon",
    "CaseEscalated",
    "CaseEvent",
    "CaseExtension",
    "CaseFact",
    "CaseFilter",
    "CaseOverdue",
    "CaseRecord",
    "CaseService",
    "CaseTimer",
    "CaseTransitioned",
    "HeldContact",
    "Intake",
    "Kind",
    "LoopLevel",
    "OpenRow",
    "Performance",
    "Source",
    "Status",
    "TodayRow",
    "UnknownCategoryError",
    "anonymise_closed",
    "category_code",
    "category_name",
    "contacts_of_phone",
    "divisions_of",
    "env_of",
    "erase_contacts",
    "find_category",
    "lookup",
    "new_case",
    "open_case",
    "reader_key",
    "shipped_catalog",
]


def __getattr__(name: str) -> Any:
    """Load a public name from its module the first time it is asked for."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
