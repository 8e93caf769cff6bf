"""sstransfer: an embeddable workflow engine for transfers of Chinese social insurance.

Each transfer is a case that runs on a versioned workflow definition; every step is guarded
by documents and roles, stored with its history, and timed against the statutory limit of
15 working days on the Chinese working-day calendar.
"""

from .calendar import Due, WorkingCalendar
from .definitions import Definition, DefinitionSet
from .engine import Case, Engine, HistoryEntry, Span, retry_on_conflict, today
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
from .monitor import Alert, ScanResult
from .rules import Actor, mask_person_id
from .settings import Settings

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
