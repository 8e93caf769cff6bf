"""What a definition file may say: the vocabulary of a transfer (roles, channels, guards,
inputs, the languages of titles) and the schema of a definition's keys.

This is the first of a definition's two checks (python-statemachine does the same): unknown
keys and wrong types are refused here, by pydantic, with the file and line
(:meth:`~workflow.core.yamlfile.YamlFile.validate`); the second, of the graph the keys
describe, is :mod:`workflow.core.graph`.
"""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import Field, model_validator

from .words import LANGUAGES
from .yamlfile import StrictModel

APPLICANT_KINDS = ("self", "employer", "agent")
CLERK_ROLES = ("origin_clerk", "destination_clerk")
ROLES = (*APPLICANT_KINDS, *CLERK_ROLES, "supervisor")
#: ``applicant`` in a definition means "whoever applied for this case".
TRANSITION_ROLES = ("applicant", *CLERK_ROLES)
CHANNELS = ("counter", "online")
OPEN_EVENT = "open"
#: Medical insurance schemes a definition may record at each end of a transfer (43号 art. 2).
SCHEMES = {
    "urban_employee": "职工基本医疗保险 (urban employee basic medical insurance)",
    "urban_rural_resident": "城乡居民基本医疗保险 (urban-rural resident basic medical insurance)",
}
#: How a limit counts from a receipt on a non-working day (a declared policy of a definition):
#: day 1 is the first working day after the receipt (Civil Code art. 201, the default), or the
#: receipt counts as made on the next working day, so day 1 is the working day after that.
RECEIPT_POLICIES: Final = ("count_from_next_working_day", "received_next_working_day")
#: How the papers of a transfer travel between the agencies (a declared policy of a definition):
#: through the national platform, received when sent (the default), or on paper, each receipt
#: then recorded by a step of its own (``receive_letter``, ``receive_funds``) that starts the
#: receiving agency's limit (seed 000 (3): "within 15 working days after receiving").
EXCHANGES: Final = ("platform", "paper")
#: The receipt steps a paper exchange has, by the step that sends what they receive.
RECEIPT_STEPS: Final = {"send_letter": "receive_letter", "move_funds": "receive_funds"}
#: What a span measures: an agency's time limit, or the time a paper may take in transit (past
#: it, the scan raises an ``in_transit`` alert: a missing receipt cannot stop the clock). A
#: transit span's name ends with this suffix, so the scan knows it by its row.
SPAN_KINDS: Final = ("limit", "transit")
TRANSIT_SUFFIX: Final = "_in_transit"
#: What a definition gives titles to: the key under ``titles`` for each kind of name.
TITLED = {"state": "states", "trigger": "triggers", "span": "spans", "paper": "papers"}

#: Guards are names in this registry, never code in the definition.
GUARDS = {
    "application_complete": "the case holds every application document",
    "requested_documents_supplied": "the case holds every document that was requested",
}
#: What every transition checks before its guards, in this order (``requires`` only where the
#: transition requires documents).
CHECKS = {
    "permitted": "the actor's role and agency may fire the trigger on this case",
    "inputs_valid": "the trigger's inputs, and the documents given with it, are well-formed",
    "documents_required": "the case holds the documents the transition requires",
}
#: The conditions of a definition's machine, by name: the rules implement each one as a method
#: of the case the machine checks them on (``workflow.core.rules``), so no code comes from a definition.
CONDITIONS = {**CHECKS, **GUARDS}
#: Inputs a trigger may take, and what each is.
INPUTS = {
    "explanation": "written explanation (non-empty text)",
    "documents_needed": "the document kinds still needed (non-empty list)",
    "amount": "transferred amount of money in yuan (exact decimal, at most 2 places)",
    "contribution_months": "cumulative contribution months (whole number >= 0)",
    "information_form": "the information form's data: pension {periods: [{from: YYYY-MM, to: "
                        "YYYY-MM, monthly_base}], personal_account}; medical {personal_account, "
                        "months_actual, months_deemed}; an amount given beside it must equal its "
                        "total",
    "months_at_destination": "contribution months the person already has at the destination "
                             "(whole number >= 0)",
}
#: The papers a step may issue (``papers:`` of a transition), in the order of a transfer; the
#: titles are the catalogue's (``workflow.core.papers``). Each needs the input that fills it.
PAPER_KINDS = {
    "contact_letter": None,
    "information_form": "information_form",
    "refusal_explanation": "explanation",
    "one_time_notice": "documents_needed",
    "completion_notice": None,
}

Name = str


class _ApplicationDocuments(StrictModel):
    always: tuple[Name, ...] = ()
    channel: dict[Literal["counter", "online"], tuple[Name, ...]] = Field(default_factory=dict)
    applicant: dict[Literal["self", "employer", "agent"], tuple[Name, ...]] = Field(default_factory=dict)


class TransitionSpec(StrictModel):
    trigger: Name = Field(pattern=r"^[a-z][a-z_]*$")
    source: tuple[Name, ...] = Field(min_length=1)
    dest: Name
    roles: tuple[Name, ...] = Field(min_length=1)
    guards: tuple[Name, ...] = ()
    requires: tuple[Name, ...] = ()
    inputs: tuple[Name, ...] = ()
    produces: tuple[Name, ...] = ()
    #: The papers the step issues, in its own transaction (added after version 1: see
    #: ``ADDED_TRANSITION_KEYS``).
    papers: tuple[Literal["contact_letter", "information_form", "refusal_explanation",
                          "one_time_notice", "completion_notice"], ...] = ()
    #: A step that ends the transfer without it being done (不予受理, 撤回申请, a reversal): the
    #: pages show it apart and ask for a confirmation. Presentation only (``PRESENTATION_KEYS``).
    destructive: bool = False


class SpanSpec(StrictModel):
    """A time limit: agency limits count working days, the person's limits calendar months."""

    name: Name = Field(pattern=r"^[a-z][a-z_]*$")
    owner: Literal["origin", "destination", "person"]
    starts_on: tuple[Name, ...] = Field(min_length=1)
    ends_on: tuple[Name, ...] = Field(min_length=1)
    limit_working_days: int | None = Field(default=None, ge=1, le=365)
    limit_months: int | None = Field(default=None, ge=1, le=24)
    #: Only cases with one of these applicant kinds get this span (empty: every case).
    applicants: tuple[Literal["self", "employer", "agent"], ...] = ()
    #: ``transit``: the working days a letter or transfer sent on paper may take to be
    #: recorded as received (added later: see ``ADDED_SPAN_KEYS``).
    kind: Literal["limit", "transit"] = "limit"
    #: Only cases recorded at opening as having no receiving employer get this span, whoever
    #: applied (seed 002: "If no unit accepts it, the individual shall pay ...").
    no_receiving_employer: bool = False

    @model_validator(mode="after")
    def _one_limit(self) -> SpanSpec:
        if (self.limit_working_days is None) == (self.limit_months is None):
            raise ValueError("give exactly one of limit_working_days and limit_months")
        if (self.kind == "transit") != self.name.endswith(TRANSIT_SUFFIX):
            raise ValueError(f"a span of kind transit, and only one, has a name ending with "
                             f"'{TRANSIT_SUFFIX}'")
        if self.kind == "transit" and self.limit_working_days is None:
            raise ValueError("a transit span counts working days (limit_working_days)")
        return self


class Title(StrictModel):
    """A name as people read it, in Chinese and in English (as the document catalogue has)."""

    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class _Titles(StrictModel):
    """The titles of a definition's states, triggers, spans and papers, each optional."""

    states: dict[Name, Title] = Field(default_factory=dict)
    triggers: dict[Name, Title] = Field(default_factory=dict)
    spans: dict[Name, Title] = Field(default_factory=dict)
    #: The titles the papers of the steps are printed under (``workflow.core.papers``).
    papers: dict[Name, Title] = Field(default_factory=dict)


class DefinitionModel(StrictModel):
    name: Name = Field(pattern=r"^[a-z][a-z_]*$")
    version: int = Field(ge=1)
    insurance: Literal["pension", "medical"]
    title: str = Field(min_length=1)
    initial: Name
    states: tuple[Name, ...] = Field(min_length=2)
    final_states: tuple[Name, ...] = Field(min_length=1)
    application_documents: _ApplicationDocuments
    transitions: tuple[TransitionSpec, ...] = Field(min_length=1)
    spans: tuple[SpanSpec, ...] = ()
    #: Keys added after version 1 was stored (see ``ADDED_KEYS``).
    schemes: tuple[Name, ...] = ()
    application_at: tuple[Literal["origin", "destination"], ...] = Field(
        default=("destination",), min_length=1)
    receipt_on_non_working_day: Literal[
        "count_from_next_working_day", "received_next_working_day"] = RECEIPT_POLICIES[0]
    exchange: Literal["platform", "paper"] = EXCHANGES[0]
    #: Presentation only (see ``PRESENTATION_KEYS``).
    titles: _Titles = _Titles()


#: Keys added to the definition format later, with their defaults: left out of the content hash
#: while at their default, so the hashes stored for older versions stay valid.
ADDED_KEYS = {"schemes": [], "application_at": ["destination"],
               "receipt_on_non_working_day": RECEIPT_POLICIES[0], "exchange": EXCHANGES[0]}
#: Keys of a transition added later, with their defaults: left out of the content hash while
#: at their default, as ``ADDED_KEYS`` are.
ADDED_TRANSITION_KEYS: dict[str, Any] = {"papers": []}
#: Keys of a span added later, with their defaults (as ``ADDED_KEYS``).
ADDED_SPAN_KEYS: dict[str, Any] = {"kind": SPAN_KINDS[0], "no_receiving_employer": False}
#: Keys that change what people read, never what a case does: always left out of the content
#: hash, so titles may be added to (or corrected in) a version cases already run on, and the
#: hashes stored for versions written before titles existed stay valid.
PRESENTATION_KEYS = ("titles",)
#: The same for the keys of a transition: flags that change only how a step is shown.
PRESENTATION_TRANSITION_KEYS = ("destructive",)


__all__ = [
    "ADDED_KEYS",
    "ADDED_SPAN_KEYS",
    "ADDED_TRANSITION_KEYS",
    "APPLICANT_KINDS",
    "CHANNELS",
    "CHECKS",
    "CLERK_ROLES",
    "CONDITIONS",
    "EXCHANGES",
    "GUARDS",
    "INPUTS",
    "LANGUAGES",
    "OPEN_EVENT",
    "PAPER_KINDS",
    "PRESENTATION_KEYS",
    "PRESENTATION_TRANSITION_KEYS",
    "RECEIPT_POLICIES",
    "RECEIPT_STEPS",
    "ROLES",
    "SCHEMES",
    "SPAN_KINDS",
    "TITLED",
    "TRANSITION_ROLES",
    "TRANSIT_SUFFIX",
    "DefinitionModel",
    "SpanSpec",
    "Title",
    "TransitionSpec",
]
