"""Every refusal the engine makes, in the user's terms.

One base class, :class:`WorkflowError`; each subclass says what was wrong so that a
back-office screen (or the command line) can show ``str(error)`` as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


class WorkflowError(Exception):
    """Base of every error the engine raises on purpose."""


class InvalidInput(WorkflowError):
    """An argument is malformed: an ID number, an agency code, an amount, a date."""


class CaseNotFound(WorkflowError):
    def __init__(self, case_id: object) -> None:
        self.case_id = case_id
        super().__init__(f"case {case_id} does not exist")


class PaperNotFound(WorkflowError):
    def __init__(self, paper_id: object) -> None:
        self.paper_id = paper_id
        super().__init__(f"paper {paper_id} does not exist")


class NotFound(WorkflowError):
    """An outbox event or a subscription that does not exist."""


class DefinitionNotFound(InvalidInput):
    """No workflow definition (or version) of that name."""


class InvalidTransition(WorkflowError):
    """The trigger is not allowed in the case's current state."""

    def __init__(self, case_id: object, trigger: str, state: str, allowed: Sequence[str]) -> None:
        self.case_id, self.trigger, self.state = case_id, trigger, state
        self.allowed = tuple(allowed)
        can = ", ".join(self.allowed) if self.allowed else "nothing (the case is closed)"
        super().__init__(
            f"case {case_id} is '{state}': '{trigger}' is not allowed there; allowed: {can}"
        )


class MissingDocuments(WorkflowError):
    """A transition needs documents the case does not hold."""

    def __init__(self, trigger: str, missing: Iterable[tuple[str, str]]) -> None:
        self.trigger = trigger
        self.missing = tuple(missing)  # (kind, English name)
        listed = "; ".join(f"{kind} ({name})" for kind, name in self.missing)
        super().__init__(f"'{trigger}' needs documents the case does not hold: {listed}")

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(kind for kind, _ in self.missing)


class NotPermitted(WorkflowError):
    """The actor's role or agency may not do this.

    ``may_act``: who may, each as (role, agency it must be of; None: any agency), e.g.
    ``(("employer", None), ("destination_clerk", "440300"))``; empty where no one named may.
    """

    def __init__(self, message: str, *, may_act: Iterable[tuple[str, str | None]] = ()) -> None:
        self.may_act = tuple(may_act)
        super().__init__(message)


class ConcurrentUpdate(WorkflowError):
    """Someone else changed the case first; reload it and decide again."""

    def __init__(self, case_id: object, expected_version: int) -> None:
        self.case_id, self.expected_version = case_id, expected_version
        super().__init__(
            f"case {case_id} was changed by someone else after version {expected_version}; "
            "reload it and try again"
        )


class TransferAlreadyRunning(WorkflowError):
    """The person already has a running transfer of this insurance (one at a time, per
    person and insurance): names the running case by its public number, state and agencies,
    never by the person's ID number. ``public_number`` is None when it could not be read
    (another transaction opened it and has not finished)."""

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


class DefinitionError(WorkflowError):
    """A workflow definition or calendar file is invalid."""

    def __init__(self, path: object, problem: str, line: int | None = None) -> None:
        self.path, self.problem, self.line = str(path), problem, line
        where = f"{self.path}, line {line}" if line else self.path
        super().__init__(f"{where}: {problem}")


class SettingsError(WorkflowError):
    """A settings file or a setting is invalid: says the file, the key and the reason."""

    def __init__(self, source: object, key: str | None, problem: str) -> None:
        self.source, self.key, self.problem = str(source), key, problem
        super().__init__(f"{self.source}: {key}: {problem}" if key else f"{self.source}: {problem}")


class DefinitionChanged(WorkflowError):
    """A definition version that cases already run on was edited in place."""


class InvalidRow(WorkflowError):
    """One application of a batch was refused; nothing of the batch was written."""

    def __init__(self, line: int, error: Exception) -> None:
        self.line, self.error = line, error
        super().__init__(f"line {line}: {error}")


class SchemaMismatch(WorkflowError):
    """The database schema is older or newer than this version of the engine."""


class StorageUnavailable(WorkflowError):
    """The database cannot be written or reached (disk full, read-only, server down); the
    call wrote nothing."""


class StorageBusy(WorkflowError):
    """The database stayed locked (or a statement ran) longer than the configured timeout;
    the call wrote nothing and may be tried again."""


class LeaseLost(WorkflowError):
    """A scheduled run's lease was taken over (it stopped renewing it); the run stopped."""


class NotAuthenticated(WorkflowError):
    """A service request carried no credential, or one that is unknown, revoked or expired."""


class RateLimited(WorkflowError):
    """Too many tries in a short time (the person's progress page); try again later."""

    def __init__(self, message: str, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class OutdatedLibrary(WorkflowError):
    """An installed library is older than the engine can count on (e.g. its holiday data)."""


__all__ = [
    "CaseNotFound",
    "ConcurrentUpdate",
    "DefinitionChanged",
    "DefinitionError",
    "DefinitionNotFound",
    "InvalidInput",
    "InvalidRow",
    "InvalidTransition",
    "LeaseLost",
    "MissingDocuments",
    "NotAuthenticated",
    "NotFound",
    "NotPermitted",
    "OutdatedLibrary",
    "PaperNotFound",
    "RateLimited",
    "SchemaMismatch",
    "SettingsError",
    "StorageBusy",
    "StorageUnavailable",
    "TransferAlreadyRunning",
    "WorkflowError",
]
