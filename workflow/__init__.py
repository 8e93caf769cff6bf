"""sstransfer: an embeddable workflow engine for transfers of Chinese social insurance.

Each transfer is a case that runs on a versioned workflow definition; every step is guarded
by documents and roles, stored with its history, and timed against the statutory limit of
15 working days on the Chinese working-day calendar.
"""

from .core.calendar import Due
from .core.definitions import Definition
from .core.rules import Actor, mask_person_id, today
from .core.views import Case, ScanResult
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
    SchemaMismatch,
    SettingsError,
    StorageBusy,
    StorageUnavailable,
    WorkflowError,
)
from .loading import DefinitionSet, WorkingCalendar
from .settings import Settings
from .store.tables import Alert, HistoryEntry, Span

__all__ = [
    "Actor",
    "Alert",
    "Case",
    "CaseNotFound",
    "ConcurrentUpdate",
    "Definition",
    "DefinitionChanged",
    "DefinitionError",
    "DefinitionSet",
    "Due",
    "Engine",
    "HistoryEntry",
    "InvalidInput",
    "InvalidRow",
    "InvalidTransition",
    "MissingDocuments",
    "NotPermitted",
    "OutdatedLibrary",
    "ScanResult",
    "SchemaMismatch",
    "Settings",
    "SettingsError",
    "Span",
    "StorageBusy",
    "StorageUnavailable",
    "WorkflowError",
    "WorkingCalendar",
    "mask_person_id",
    "retry_on_conflict",
    "today",
]
