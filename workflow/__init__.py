"""sstransfer: an embeddable workflow engine for transfers of Chinese social insurance.

Each transfer is a case that runs on a versioned workflow definition; every step is guarded
by documents and roles, stored with its history, and timed against the statutory limit of
15 working days on the Chinese working-day calendar.
"""

from .calendar import Due, WorkingCalendar
from .definitions import Definition, DefinitionSet
from .engine import Case, Engine, HistoryEntry, Span, today
from .errors import (
    CaseNotFound,
    ConcurrentUpdate,
    DefinitionChanged,
    DefinitionError,
    InvalidInput,
    InvalidTransition,
    MissingDocuments,
    NotPermitted,
    WorkflowError,
)
from .rules import Actor, mask_person_id

__all__ = [
    "Actor",
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
    "InvalidTransition",
    "MissingDocuments",
    "NotPermitted",
    "Span",
    "WorkflowError",
    "WorkingCalendar",
    "mask_person_id",
    "today",
]
