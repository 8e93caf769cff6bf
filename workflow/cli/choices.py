"""The fixed sets of values the command line takes, as typed choices (``--help`` lists them, the
shell completes them, a typo is refused before anything runs), and the completion of the sets
that are read from the workflow definitions at run time (definitions, states, triggers and
documents: validated by the engine, completed here).

The values are spelled here, not imported: ``sstransfer --help`` must not load the core's
models (tests/test_cli.py checks it); tests/test_cli_choices.py checks each set against the
core's own."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from ..loading import DefinitionSet


class Role(enum.StrEnum):
    """Who acts (``workflow.core.schema.ROLES``)."""

    self = "self"
    employer = "employer"
    agent = "agent"
    origin_clerk = "origin_clerk"
    destination_clerk = "destination_clerk"
    supervisor = "supervisor"


class TokenRole(enum.StrEnum):
    """The role of an API token (``workflow.core.access.TOKEN_ROLES``): a role, or ``clerk``."""

    self = "self"
    employer = "employer"
    agent = "agent"
    origin_clerk = "origin_clerk"
    destination_clerk = "destination_clerk"
    supervisor = "supervisor"
    clerk = "clerk"


class Applicant(enum.StrEnum):
    """Who applied (``workflow.core.schema.APPLICANT_KINDS``)."""

    self = "self"
    employer = "employer"
    agent = "agent"


class Channel(enum.StrEnum):
    """Where the application was made (``workflow.core.schema.CHANNELS``)."""

    counter = "counter"
    online = "online"


class Scheme(enum.StrEnum):
    """A medical insurance scheme (``workflow.core.schema.SCHEMES``)."""

    urban_employee = "urban_employee"
    urban_rural_resident = "urban_rural_resident"


class AlertLevel(enum.StrEnum):
    """An alert's level (``workflow.core.alerts.ALERT_LEVELS``)."""

    due_soon = "due_soon"
    overdue = "overdue"
    escalated = "escalated"
    statutory_breach = "statutory_breach"
    in_transit = "in_transit"
    advisory = "advisory"


class OutboxState(enum.StrEnum):
    """The state of an outbox event (``workflow.core.notify.MESSAGE_STATES``)."""

    pending = "pending"
    delivered = "delivered"
    dead = "dead"


class SubscriptionChannel(enum.StrEnum):
    """How a subscription hears (``workflow.core.notify.SUBSCRIPTION_CHANNELS``)."""

    webhook = "webhook"
    email = "email"


class EventName(enum.StrEnum):
    """An event of the outbox (``workflow.core.events.EVENT_NAMES``)."""

    case_opened = "case.opened"
    case_rejected = "case.rejected"
    documents_requested = "documents.requested"
    case_continued = "case.continued"
    case_withdrawn = "case.withdrawn"
    alert_raised = "alert.raised"


class PaperFormat(enum.StrEnum):
    """How a paper is printed (``workflow.services.papers.FORMATS``)."""

    pdf = "pdf"
    html = "html"


class ReportFormat(enum.StrEnum):
    """The formats of a report file (``workflow.render.FORMATS``)."""

    csv = "csv"
    xlsx = "xlsx"
    html = "html"


class Language(enum.StrEnum):
    """The language of what people read (``workflow.core.words.LANGUAGES``)."""

    zh = "zh"
    en = "en"


class Weekday(enum.StrEnum):
    """A day of the week (``workflow.settings.DAYS``)."""

    mon = "mon"
    tue = "tue"
    wed = "wed"
    thu = "thu"
    fri = "fri"
    sat = "sat"
    sun = "sun"


class LogLevel(enum.StrEnum):
    """A level of the standard ``logging`` module."""

    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"
    critical = "critical"


class Shell(enum.StrEnum):
    """A shell the completion script is written for (typer's shells)."""

    bash = "bash"
    zsh = "zsh"
    fish = "fish"
    powershell = "powershell"
    pwsh = "pwsh"


def value(choice: enum.StrEnum | None) -> str | None:
    """The plain string of a choice (None stays None)."""
    return None if choice is None else choice.value


# --- choices read from the definitions at run time: completed, validated by the engine -------

def _definitions(ctx: typer.Context) -> DefinitionSet | None:
    """The definitions of ``--definitions`` (or of its environment variable, or the shipped
    ones); None where they cannot be read (completion then proposes nothing)."""
    from ..errors import WorkflowError
    from ..loading import DefinitionSet

    folder = ctx.find_root().params.get("definitions")
    try:
        return DefinitionSet(folder)
    except (WorkflowError, OSError):
        return None


def _starting(values: set[str], incomplete: str) -> list[str]:
    return sorted(v for v in values if v.startswith(incomplete))


def complete_definition(ctx: typer.Context, incomplete: str) -> list[str]:
    """The names of the workflow definitions."""
    ds = _definitions(ctx)
    return [] if ds is None else _starting({d.name for d in ds}, incomplete)


def complete_state(ctx: typer.Context, incomplete: str) -> list[str]:
    """The states of every definition."""
    ds = _definitions(ctx)
    return [] if ds is None else _starting({s for d in ds for s in d.states}, incomplete)


def complete_trigger(ctx: typer.Context, incomplete: str) -> list[str]:
    """The triggers of every definition (except ``open``: the ``open`` command does that)."""
    ds = _definitions(ctx)
    return [] if ds is None else _starting({t for d in ds for t in d.triggers} - {"open"},
                                           incomplete)


def complete_document(ctx: typer.Context, incomplete: str) -> list[str]:
    """The document kinds of the catalogue."""
    ds = _definitions(ctx)
    return [] if ds is None else _starting(set(ds.catalogue.kinds), incomplete)
