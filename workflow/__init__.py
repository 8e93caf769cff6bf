"""sstransfer: an embeddable workflow engine for transfers of Chinese social insurance.

Each transfer is a case that runs on a versioned workflow definition; every step is guarded
by documents and roles, stored with its history, and timed against the statutory limit of
15 working days on the Chinese working-day calendar.

The public names are imported on first use (module ``__getattr__``), so that ``import
workflow`` and the command line's ``--help`` do not load SQLAlchemy, pydantic and holidays;
``from workflow import Engine`` works as before.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# Each public name and the submodule that defines it.
_WHERE = {
    "Due": "core.calendar", "Definition": "core.definitions",
    "Actor": "core.inputs", "mask_person_id": "core.inputs", "today": "core.inputs",
    "Case": "core.views", "ScanResult": "core.views",
    "Principal": "core.access",
    "ContributionPeriod": "core.funds", "PensionFunds": "core.funds",
    "parse_period": "core.funds", "pension_funds": "core.funds",
    "AlertQuery": "core.queries", "CaseQuery": "core.queries", "InboxQuery": "core.queries",
    "Desk": "desk", "Engine": "engine", "retry_on_conflict": "engine",
    "DefinitionSet": "loading", "WorkingCalendar": "loading",
    "Alert": "records", "HistoryEntry": "records", "Paper": "records", "Span": "records",
    **dict.fromkeys((
        "CaseNotFound", "ConcurrentUpdate", "DefinitionChanged", "DefinitionError",
        "InvalidInput", "InvalidRow", "InvalidTransition", "MissingDocuments", "NotPermitted",
        "OutdatedLibrary", "PaperNotFound", "SchemaMismatch", "SettingsError", "StorageBusy",
        "StorageUnavailable", "TransferAlreadyRunning", "WorkflowError"), "errors"),
    "Settings": "settings",
}


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{where}", __name__), name)
    globals()[name] = value  # the next look-up is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:  # what type checkers and editors see
    from .core.access import Principal
    from .core.calendar import Due
    from .core.definitions import Definition
    from .core.funds import ContributionPeriod, PensionFunds, parse_period, pension_funds
    from .core.inputs import Actor, mask_person_id, today
    from .core.queries import AlertQuery, CaseQuery, InboxQuery
    from .core.views import Case, ScanResult
    from .desk import Desk
    from .engine import Engine, retry_on_conflict
    from .errors import (
        CaseNotFound,
        ConcurrentUpdate,
        DefinitionChanged,
        DefinitionError,
        InvalidInput,
        InvalidRow,
        InvalidTransition,
        MissingDocuments,
        NotPermitted,
        OutdatedLibrary,
        PaperNotFound,
        SchemaMismatch,
        SettingsError,
        StorageBusy,
        StorageUnavailable,
        TransferAlreadyRunning,
        WorkflowError,
    )
    from .loading import DefinitionSet, WorkingCalendar
    from .records import Alert, HistoryEntry, Paper, Span
    from .settings import Settings

__all__ = [
    "Actor",
    "Alert",
    "AlertQuery",
    "Case",
    "CaseNotFound",
    "CaseQuery",
    "ConcurrentUpdate",
    "ContributionPeriod",
    "Definition",
    "DefinitionChanged",
    "DefinitionError",
    "DefinitionSet",
    "Desk",
    "Due",
    "Engine",
    "HistoryEntry",
    "InboxQuery",
    "InvalidInput",
    "InvalidRow",
    "InvalidTransition",
    "MissingDocuments",
    "NotPermitted",
    "OutdatedLibrary",
    "Paper",
    "PaperNotFound",
    "PensionFunds",
    "Principal",
    "ScanResult",
    "SchemaMismatch",
    "Settings",
    "SettingsError",
    "Span",
    "StorageBusy",
    "StorageUnavailable",
    "TransferAlreadyRunning",
    "WorkflowError",
    "WorkingCalendar",
    "mask_person_id",
    "parse_period",
    "pension_funds",
    "retry_on_conflict",
    "today",
]
