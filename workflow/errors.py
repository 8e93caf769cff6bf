"""Every refusal the engine makes, in the user's terms.

One base class, :class:`WorkflowError`; each subclass says what was wrong so that a
back-office screen (or the command line) can show ``str(error)`` as it is (English, for
developers). Each kind also carries a stable ``code`` (English snake case, the API's
``code``) and its ``params`` (what was wrong, as data), so that its words can be produced in
any language from the message catalogues (:func:`workflow.i18n.explain`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar


class WorkflowError(Exception):
    """Base of every error the engine raises on purpose."""

    #: The kind of refusal, stable across releases (the API's ``code``).
    code: ClassVar[str] = "workflow_error"
    #: The definition (name, version) whose steps, states and documents the refusal names,
    #: where it names some: what titles them for people.
    definition: tuple[str, int] | None = None

    @property
    def params(self) -> dict[str, Any]:
        """What was wrong, as data (JSON-able): the API's ``details``, the catalogues' values."""
        return {}


class InvalidInput(WorkflowError):
    """An argument is malformed: an ID number, an agency code, an amount, a date.

    ``field``: the input at fault where one is (``on``, ``amount``, ``information_form``, ...);
    ``reason``: what is wrong with it, as a message id of the catalogues
    (``error_invalid_input_<reason>``), filled in with ``values``.
    """

    code = "invalid_input"

    def __init__(self, message: str, *, field: str | None = None, reason: str | None = None,
                 **values: object) -> None:
        self.field, self.reason, self.values = field, reason, values
        super().__init__(message)

    @property
    def params(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        if self.field is not None:
            found["field"] = self.field
        if self.reason is not None:
            found["reason"] = self.reason
            found.update(self.values)
        return found


class CaseNotFound(WorkflowError):
    code = "case_not_found"

    def __init__(self, case_id: object) -> None:
        self.case_id = case_id
        super().__init__(f"case {case_id} does not exist")

    @property
    def params(self) -> dict[str, Any]:
        return {"case_id": self.case_id}


class PaperNotFound(WorkflowError):
    code = "paper_not_found"

    def __init__(self, paper_id: object) -> None:
        self.paper_id = paper_id
        super().__init__(f"paper {paper_id} does not exist")

    @property
    def params(self) -> dict[str, Any]:
        return {"paper_id": self.paper_id}


class NotFound(WorkflowError):
    """An outbox event or a subscription that does not exist."""

    code = "not_found"


class DefinitionNotFound(InvalidInput):
    """No workflow definition (or version) of that name."""

    code = "definition_not_found"


class InvalidTransition(WorkflowError):
    """The trigger is not allowed in the case's current state."""

    code = "invalid_transition"

    def __init__(self, case_id: object, trigger: str, state: str, allowed: Sequence[str]) -> None:
        self.case_id, self.trigger, self.state = case_id, trigger, state
        self.allowed = tuple(allowed)
        can = ", ".join(self.allowed) if self.allowed else "nothing (the case is closed)"
        super().__init__(
            f"case {case_id} is '{state}': '{trigger}' is not allowed there; allowed: {can}"
        )

    @property
    def params(self) -> dict[str, Any]:
        return {"case_id": self.case_id, "trigger": self.trigger, "state": self.state,
                "allowed": list(self.allowed)}


class MissingDocuments(WorkflowError):
    """A transition needs documents the case does not hold."""

    code = "missing_documents"

    def __init__(self, trigger: str, missing: Iterable[tuple[str, str]]) -> None:
        self.trigger = trigger
        self.missing = tuple(missing)  # (kind, English name)
        listed = "; ".join(f"{kind} ({name})" for kind, name in self.missing)
        super().__init__(f"'{trigger}' needs documents the case does not hold: {listed}")

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(kind for kind, _ in self.missing)

    @property
    def params(self) -> dict[str, Any]:
        return {"trigger": self.trigger, "missing": list(self.kinds)}


class NotPermitted(WorkflowError):
    """The actor's role or agency may not do this.

    ``may_act``: who may, each as (role, agency it must be of; None: any agency), e.g.
    ``(("employer", None), ("destination_clerk", "440300"))``; empty where no one named may.
    ``trigger``: the step refused, where the refusal is of a step.
    """

    code = "not_permitted"

    def __init__(self, message: str, *, may_act: Iterable[tuple[str, str | None]] = (),
                 trigger: str | None = None) -> None:
        self.may_act = tuple(may_act)
        self.trigger = trigger
        super().__init__(message)

    @property
    def params(self) -> dict[str, Any]:
        found: dict[str, Any] = {"may_act": [{"role": role, "agency": agency}
                                             for role, agency in self.may_act]}
        if self.trigger is not None:
            found["trigger"] = self.trigger
        return found


class ConcurrentUpdate(WorkflowError):
    """Someone else changed the case first; reload it and decide again."""

    code = "concurrent_update"

    def __init__(self, case_id: object, expected_version: int) -> None:
        self.case_id, self.expected_version = case_id, expected_version
        super().__init__(
            f"case {case_id} was changed by someone else after version {expected_version}; "
            "reload it and try again"
        )

    @property
    def params(self) -> dict[str, Any]:
        return {"case_id": self.case_id, "expected_version": self.expected_version}


class TransferAlreadyRunning(WorkflowError):
    """The person already has a running transfer of this insurance (one at a time, per
    person and insurance): names the running case by its public number, state and agencies,
    never by the person's ID number. ``public_number`` is None when it could not be read
    (another transaction opened it and has not finished)."""

    code = "transfer_already_running"

    def __init__(self, insurance: str | None, public_number: str | None = None,
                 state: str | None = None, origin: str | None = None,
                 destination: str | None = None) -> None:
        self.insurance, self.public_number, self.state = insurance, public_number, state
        self.origin, self.destination = origin, destination
        running = (f"case {public_number} is '{state}', from agency {origin} to agency "
                   f"{destination}" if public_number is not None
                   else "another one was opened at the same moment")
        kind = f"{insurance} transfer" if insurance else "transfer of this insurance"
        super().__init__(
            f"this person already has a running {kind}: {running}; it must be continued, "
            f"rejected or withdrawn before another {kind} is opened")

    @property
    def params(self) -> dict[str, Any]:
        return {"insurance": self.insurance, "public_number": self.public_number,
                "state": self.state, "origin": self.origin, "destination": self.destination}


class DefinitionError(WorkflowError):
    """A workflow definition or calendar file is invalid."""

    code = "definition_error"

    def __init__(self, path: object, problem: str, line: int | None = None) -> None:
        self.path, self.problem, self.line = str(path), problem, line
        where = f"{self.path}, line {line}" if line else self.path
        super().__init__(f"{where}: {problem}")

    @property
    def params(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line}


class SettingsError(WorkflowError):
    """A settings file or a setting is invalid: says the file, the key and the reason."""

    code = "settings_error"

    def __init__(self, source: object, key: str | None, problem: str) -> None:
        self.source, self.key, self.problem = str(source), key, problem
        super().__init__(f"{self.source}: {key}: {problem}" if key else f"{self.source}: {problem}")

    @property
    def params(self) -> dict[str, Any]:
        return {"source": self.source, "key": self.key}


class DefinitionChanged(WorkflowError):
    """A definition version that cases already run on was edited in place."""

    code = "definition_changed"


class InvalidRow(WorkflowError):
    """One application of a batch was refused; nothing of the batch was written."""

    code = "invalid_row"

    def __init__(self, line: int, error: Exception) -> None:
        self.line, self.error = line, error
        super().__init__(f"line {line}: {error}")

    @property
    def params(self) -> dict[str, Any]:
        inner = self.error
        if isinstance(inner, WorkflowError):
            return {"line": self.line, "error": {"code": inner.code, "message": str(inner),
                                                 "details": inner.params}}
        return {"line": self.line, "error": {"code": "invalid_input", "message": str(inner),
                                             "details": {}}}


class RequiredCaseMissing(InvalidInput):
    """A case whose definition needs another case first (``requires_case``: a card
    application needs the pension transfer to its agency continued) found none."""


class MigrationRefused(WorkflowError):
    """One running case cannot move to a new definition version (its state or its history
    has no counterpart there); it is listed with the reason and left as it was."""


class SchemaMismatch(WorkflowError):
    """The database schema is older or newer than this version of the engine."""

    code = "schema_mismatch"


class StorageUnavailable(WorkflowError):
    """The database cannot be written or reached (disk full, read-only, server down); the
    call wrote nothing."""

    code = "storage_unavailable"


class StorageBusy(WorkflowError):
    """The database stayed locked (or a statement ran) longer than the configured timeout;
    the call wrote nothing and may be tried again."""

    code = "storage_busy"


class LeaseLost(WorkflowError):
    """A scheduled run's lease was taken over (it stopped renewing it); the run stopped."""

    code = "lease_lost"


class NotAuthenticated(WorkflowError):
    """A service request carried no credential, or one that is unknown, revoked or expired."""

    code = "not_authenticated"


class RateLimited(WorkflowError):
    """Too many tries in a short time (the person's progress page); try again later."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(message)

    @property
    def params(self) -> dict[str, Any]:
        return {"retry_after": self.retry_after}


class OutdatedLibrary(WorkflowError):
    """An installed library is older than the engine can count on (e.g. its holiday data)."""

    code = "outdated_library"


#: Every kind of refusal by its code.
KINDS: dict[str, type[WorkflowError]] = {
    cls.code: cls for cls in (
        WorkflowError, InvalidInput, CaseNotFound, PaperNotFound, NotFound, DefinitionNotFound,
        InvalidTransition, MissingDocuments, NotPermitted, ConcurrentUpdate,
        TransferAlreadyRunning, DefinitionError,
        SettingsError, DefinitionChanged, InvalidRow, SchemaMismatch, StorageUnavailable,
        StorageBusy, LeaseLost, NotAuthenticated, RateLimited, OutdatedLibrary)}


__all__ = [
    "KINDS",
    "CaseNotFound",
    "ConcurrentUpdate",
    "DefinitionChanged",
    "DefinitionError",
    "DefinitionNotFound",
    "InvalidInput",
    "InvalidRow",
    "InvalidTransition",
    "LeaseLost",
    "MigrationRefused",
    "MissingDocuments",
    "NotAuthenticated",
    "NotFound",
    "NotPermitted",
    "OutdatedLibrary",
    "PaperNotFound",
    "RateLimited",
    "RequiredCaseMissing",
    "SchemaMismatch",
    "SettingsError",
    "StorageBusy",
    "StorageUnavailable",
    "TransferAlreadyRunning",
    "WorkflowError",
]
