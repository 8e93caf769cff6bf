"""Workflow definitions: YAML files read into immutable, validated objects.

A definition is checked twice, as python-statemachine does: first its schema (unknown
keys, wrong types), then its graph (every state reachable, a final state reachable from
every state, every named document, role, guard, input and span event known). A failure
names the file, the line and what is wrong.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from transitions import Transition
from transitions.extensions.diagrams import GraphMachine

from ..errors import InvalidInput
from .words import LANGUAGES
from .yamlfile import YamlFile

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
#: What a definition gives titles to: the key under ``titles`` for each kind of name.
TITLED = {"state": "states", "trigger": "triggers", "span": "spans"}

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
}

Name = str


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _ApplicationDocuments(_Strict):
    always: tuple[Name, ...] = ()
    channel: dict[Literal["counter", "online"], tuple[Name, ...]] = {}
    applicant: dict[Literal["self", "employer", "agent"], tuple[Name, ...]] = {}


class TransitionSpec(_Strict):
    trigger: Name = Field(pattern=r"^[a-z][a-z_]*$")
    source: tuple[Name, ...] = Field(min_length=1)
    dest: Name
    roles: tuple[Name, ...] = Field(min_length=1)
    guards: tuple[Name, ...] = ()
    requires: tuple[Name, ...] = ()
    inputs: tuple[Name, ...] = ()
    produces: tuple[Name, ...] = ()


class SpanSpec(_Strict):
    """A time limit: agency limits count working days, the person's limits calendar months."""

    name: Name = Field(pattern=r"^[a-z][a-z_]*$")
    owner: Literal["origin", "destination", "person"]
    starts_on: tuple[Name, ...] = Field(min_length=1)
    ends_on: tuple[Name, ...] = Field(min_length=1)
    limit_working_days: int | None = Field(default=None, ge=1, le=365)
    limit_months: int | None = Field(default=None, ge=1, le=24)
    #: Only cases with one of these applicant kinds get this span (empty: every case).
    applicants: tuple[Literal["self", "employer", "agent"], ...] = ()

    @model_validator(mode="after")
    def _one_limit(self) -> SpanSpec:
        if (self.limit_working_days is None) == (self.limit_months is None):
            raise ValueError("give exactly one of limit_working_days and limit_months")
        return self


class Title(_Strict):
    """A name as people read it, in Chinese and in English (as the document catalogue has)."""

    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class _Titles(_Strict):
    """The titles of a definition's states, triggers and spans, each optional."""

    states: dict[Name, Title] = {}
    triggers: dict[Name, Title] = {}
    spans: dict[Name, Title] = {}


class _DefinitionModel(_Strict):
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
    #: Keys added after version 1 was stored (see ``_ADDED_KEYS``).
    schemes: tuple[Name, ...] = ()
    application_at: tuple[Literal["origin", "destination"], ...] = Field(
        default=("destination",), min_length=1)
    receipt_on_non_working_day: Literal[
        "count_from_next_working_day", "received_next_working_day"] = RECEIPT_POLICIES[0]
    #: Presentation only (see ``_PRESENTATION_KEYS``).
    titles: _Titles = _Titles()


#: Keys added to the definition format later, with their defaults: left out of the content hash
#: while at their default, so the hashes stored for older versions stay valid.
_ADDED_KEYS = {"schemes": [], "application_at": ["destination"],
               "receipt_on_non_working_day": RECEIPT_POLICIES[0]}
#: Keys that change what people read, never what a case does: always left out of the content
#: hash, so titles may be added to (or corrected in) a version cases already run on, and the
#: hashes stored for versions written before titles existed stay valid.
_PRESENTATION_KEYS = ("titles",)


class _DocumentKind(_Strict):
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class _CatalogueModel(_Strict):
    documents: dict[Name, _DocumentKind] = Field(min_length=1)


# YAML reads an unquoted 310199 as a number: a division code is its digits either way.
_DivisionCode = Annotated[str, BeforeValidator(lambda v: str(v) if type(v) is int else v),
                          StringConstraints(pattern=r"^[0-9]{6}$")]


class _ExtraDivisionsModel(_Strict):
    divisions: dict[_DivisionCode, Annotated[str, StringConstraints(min_length=1)]] = {}


def parse_extra_divisions(doc: YamlFile) -> dict[str, str]:
    """``divisions_extra.yaml``: division codes newer than the GB/T 2260 list, code → name."""
    return dict(doc.validate(_ExtraDivisionsModel).divisions)
class _Commitment(_Strict):
    """An agency's own limit (承诺时限) for one span, shorter than the statute's."""

    definition: Name
    version: int | None = Field(default=None, ge=1)  # None: every version with this span
    span: Name
    agency: str | None = Field(default=None, pattern=r"^\d{6}$")
    province: str | None = Field(default=None, pattern=r"^\d{2}$")
    working_days: int = Field(ge=1, le=365)
    source: str = Field(min_length=1, description="where the agency published it")

    @field_validator("agency", "province", mode="before")
    @classmethod
    def _code_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _one_place(self) -> _Commitment:
        if (self.agency is None) == (self.province is None):
            raise ValueError("give exactly one of agency (6 digits) and province (2 digits)")
        return self


class _CommitmentsModel(_Strict):
    commitments: tuple[_Commitment, ...] = ()


@dataclass(frozen=True)
class CommittedLimits:
    """Committed limits per span for an agency code or a province prefix; an agency's own
    entry wins over its province's, a version's own over one for every version."""

    entries: tuple[_Commitment, ...] = ()

    @classmethod
    def parse(cls, doc: YamlFile, definitions: Iterable[Definition]) -> CommittedLimits:
        """Check the file against the definitions: each names a known definition and
        working-day span, says it once, and is not above the statutory limit."""
        model = doc.validate(_CommitmentsModel)
        definitions = list(definitions)
        seen: dict[tuple[Any, ...], int] = {}
        for i, c in enumerate(model.commitments):
            loc = ("commitments", i)
            key = (c.definition, c.version, c.span, c.agency, c.province)
            if key in seen:
                first = doc.line_of(("commitments", seen[key]))
                raise doc.fail(f"a second commitment for {c.span} of {c.agency or c.province} "
                               f"(the first is on line {first})", loc)
            seen[key] = i
            versions = [d for d in definitions if d.name == c.definition
                        and c.version in (None, d.version)]
            if not versions:
                raise doc.fail(f"no definition {c.definition}"
                               + (f" version {c.version}" if c.version else ""), (*loc, "definition"))
            specs = [(d, found) for d in versions if (found := d.span(c.span)) is not None]
            if not specs:
                raise doc.fail(f"{c.definition} has no span '{c.span}'", (*loc, "span"))
            for d, spec in specs:
                if spec.limit_working_days is None:
                    raise doc.fail(f"span '{c.span}' counts calendar months, not working days",
                                   (*loc, "span"))
                if c.working_days > spec.limit_working_days:
                    raise doc.fail(
                        f"committed limit of {c.working_days} working days for {c.span} is above "
                        f"the statutory {spec.limit_working_days} of {d.name} version {d.version}",
                        (*loc, "working_days"))
        return cls(model.commitments)

    def limit(self, definition: Definition, span: SpanSpec, agency: str) -> int | None:
        """The committed limit in working days for ``agency``'s span, if it has one."""
        if span.limit_working_days is None:
            return None
        best: tuple[int, int] | None = None
        for c in self.entries:
            if (c.definition != definition.name or c.version not in (None, definition.version)
                    or c.span != span.name or c.working_days > span.limit_working_days):
                continue
            if c.agency == agency or (c.province is not None and agency.startswith(c.province)):
                rank = (c.agency is not None) * 2 + (c.version is not None)
                if best is None or rank > best[0]:
                    best = (rank, c.working_days)
        return None if best is None else best[1]


@dataclass(frozen=True)
class DocumentCatalogue:
    """Every document kind, named once with its Chinese and English names."""

    kinds: Mapping[str, _DocumentKind]

    @classmethod
    def parse(cls, doc: YamlFile) -> DocumentCatalogue:
        return cls(doc.validate(_CatalogueModel).documents)

    def name(self, kind: str) -> str:
        return self.kinds[kind].en

    def title(self, kind: str, lang: str = LANGUAGES[0]) -> str:
        """A document kind's name in ``lang`` (``zh`` or ``en``), as definitions title theirs."""
        if lang not in LANGUAGES:
            raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {lang!r}")
        return str(getattr(self.kinds[kind], lang))

    def describe(self, kinds: Iterable[str]) -> list[tuple[str, str]]:
        return [(k, self.name(k)) for k in kinds]

    def check(self, kinds: Iterable[str], what: str = "document") -> tuple[str, ...]:
        """Refuse unknown kinds with the list of known ones; return them de-duplicated."""
        kinds = tuple(dict.fromkeys(kinds))
        unknown = [k for k in kinds if k not in self.kinds]
        if unknown:
            raise InvalidInput(
                f"unknown {what} kind(s): {', '.join(map(str, unknown))}; "
                f"known kinds: {', '.join(self.kinds)}"
            )
        return kinds


@dataclass(frozen=True, eq=False)
class Definition:
    """One version of one workflow, validated and immutable. Cases refer to it by name and version."""

    model: _DefinitionModel
    source: str  # the file's text, kept so cases can run on it after the file is gone
    path: str
    catalogue: DocumentCatalogue
    content_hash: str = field(init=False)
    #: The one `transitions` machine of this version, built with it and shared by every case
    #: that runs on it (and every thread): cases are never added to it as models.
    machine: DefinitionMachine = field(init=False, repr=False)

    def __post_init__(self) -> None:
        data = self.model.model_dump(mode="json", exclude=set(_PRESENTATION_KEYS))
        for key, default in _ADDED_KEYS.items():
            if data[key] == default:
                del data[key]
        canonical = json.dumps(data, sort_keys=True)
        object.__setattr__(self, "content_hash", hashlib.sha256(canonical.encode()).hexdigest())
        object.__setattr__(self, "machine", DefinitionMachine.of(self.model))

    # --- the neutral model, under domain names -------------------------------------------
    @property
    def name(self) -> str:
        return self.model.name

    @property
    def version(self) -> int:
        return self.model.version

    @property
    def key(self) -> tuple[str, int]:
        return self.model.name, self.model.version

    @property
    def insurance(self) -> str:
        return self.model.insurance

    @property
    def initial(self) -> str:
        return self.model.initial

    @property
    def states(self) -> tuple[str, ...]:
        return self.model.states

    @property
    def final_states(self) -> frozenset[str]:
        return frozenset(self.model.final_states)

    @property
    def spans(self) -> tuple[SpanSpec, ...]:
        return self.model.spans

    @property
    def schemes(self) -> tuple[str, ...]:
        return self.model.schemes

    @property
    def application_at(self) -> tuple[str, ...]:
        return self.model.application_at

    @property
    def receipt_policy(self) -> str:
        return self.model.receipt_on_non_working_day

    def title(self, kind: str, name: str, lang: str = LANGUAGES[0]) -> str:
        """What people read for a ``state``, ``trigger`` or ``span`` of this version, in
        ``lang`` (``zh`` or ``en``); the name itself where the file gives it no title."""
        if kind not in TITLED:
            raise ValueError(f"titles are given to {', '.join(TITLED)}, not {kind!r}")
        if lang not in LANGUAGES:
            raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {lang!r}")
        title = getattr(self.model.titles, TITLED[kind]).get(name)
        return name if title is None else getattr(title, lang)

    def span(self, name: str) -> SpanSpec | None:
        return next((s for s in self.spans if s.name == name), None)

    @cached_property
    def transitions(self) -> dict[tuple[str, str], TransitionSpec]:
        """(trigger, source state) -> transition: what a step requires, takes and produces."""
        return {(t.trigger, s): t for t in self.model.transitions for s in t.source}

    @cached_property
    def triggers(self) -> tuple[str, ...]:
        """Every trigger of this version, in the order of the definition file."""
        return tuple(self.machine.events)

    def allowed_triggers(self, state: str) -> tuple[str, ...]:
        """The triggers the machine has a transition for from ``state``."""
        return tuple(self.machine.get_triggers(state))

    def application_documents(self, applicant: str, channel: str) -> tuple[str, ...]:
        docs = self.model.application_documents
        return tuple(dict.fromkeys(
            # typeshed's dict.get takes only the key type (Literal here), though any str may be looked up
            (*docs.always, *docs.channel.get(channel, ()), *docs.applicant.get(applicant, ()))  # type: ignore[call-overload]
        ))

    def spans_started_by(self, event: str, applicant: str) -> tuple[SpanSpec, ...]:
        return tuple(s for s in self.spans if event in s.starts_on
                     and (not s.applicants or applicant in s.applicants))

    def spans_ended_by(self, event: str) -> tuple[str, ...]:
        return tuple(s.name for s in self.spans if event in s.ends_on)

    def mermaid(self) -> str:
        """A Mermaid state diagram of this version, drawn by the machine (``transitions``'
        Mermaid engine: no graphviz needed). Its flat diagrams leave out where a case ends, so
        each final state of the machine gets its ``--> [*]`` line after them."""
        machine = self.machine
        # transitions' GraphProtocol stub lists draw() only; the Mermaid graph has ``source``.
        diagram = machine.graph_cls(machine).get_graph().source  # type: ignore[attr-defined]
        ends = [f"  {s} --> [*]" for s in machine.states if machine.get_state(s).final]
        return "\n".join([diagram, *ends]) + "\n"


class DefinitionMachine(GraphMachine):
    """The `transitions` machine of one definition version: its states (the final ones marked
    final), a transition per trigger and source, each with its conditions named from
    :data:`CONDITIONS`, no ``to_<state>`` shortcuts, and a Mermaid diagram.

    It has no models. :func:`workflow.core.rules.decide` checks the transitions of
    ``machine.events[trigger]`` from the case's state against an object made for the call,
    which the machine never holds, so one machine serves every case and thread, read-only.
    Its transitions are plain :class:`transitions.Transition`: the diagram-aware ones, when
    fired, restyle the graph of a registered model, and this machine has none.
    """

    # GraphMachine's stub pins its diagram-aware transition class; any Transition class works.
    transition_cls = Transition  # type: ignore[assignment]

    @classmethod
    def of(cls, model: _DefinitionModel) -> DefinitionMachine:
        machine = cls(
            model=None,
            states=[{"name": s, "final": s in model.final_states} for s in model.states],
            initial=model.initial,
            transitions=[
                {"trigger": t.trigger, "source": list(t.source), "dest": t.dest,
                 "conditions": [*(c for c in CHECKS if c != "documents_required" or t.requires),
                                *t.guards]}
                for t in model.transitions
            ],
            auto_transitions=False,
            send_event=True,
            name=f"{model.name}.v{model.version}",
            title=f"title: {model.name} version {model.version}",
            graph_engine="mermaid",
        )
        machine.get_markup_config()  # the diagram's view of it, made now: later reads change nothing
        return machine


def parse_definition(path: Path | str, catalogue: DocumentCatalogue, text: str) -> Definition:
    """Parse one definition's ``text`` (from file ``path``, or stored) and run every check."""
    doc = YamlFile(path, text)
    model = doc.validate(_DefinitionModel)
    _check_graph(doc, model, catalogue)
    return Definition(model, doc.text, str(path), catalogue)


def _check_graph(doc: YamlFile, m: _DefinitionModel, catalogue: DocumentCatalogue) -> None:
    states = set(m.states)
    if len(states) != len(m.states):
        raise doc.fail("a state is listed twice", ("states",))

    def known(value: str, allowed: Iterable[str], what: str, loc: tuple[Any, ...]) -> None:
        allowed = tuple(allowed)
        if value not in allowed:
            raise doc.fail(f"unknown {what} '{value}'; known: {', '.join(allowed)}", loc)

    known(m.initial, m.states, "state", ("initial",))
    for i, s in enumerate(m.final_states):
        known(s, m.states, "state", ("final_states", i))
    if m.initial in m.final_states:
        raise doc.fail("the initial state cannot be final", ("initial",))
    for i, scheme in enumerate(m.schemes):
        known(scheme, SCHEMES, "scheme", ("schemes", i))
    for group, kinds in [("always", m.application_documents.always),
                         *[(f"channel.{k}", v) for k, v in m.application_documents.channel.items()],
                         *[(f"applicant.{k}", v)
                           for k, v in m.application_documents.applicant.items()]]:
        for i, kind in enumerate(kinds):
            known(kind, catalogue.kinds, "document kind",
                  ("application_documents", *group.split("."), i))

    seen: set[tuple[str, str]] = set()
    edges: dict[str, set[str]] = {s: set() for s in m.states}
    for ti, t in enumerate(m.transitions):
        loc = ("transitions", ti)
        known(t.dest, m.states, "state", (*loc, "dest"))
        for si, s in enumerate(t.source):
            known(s, m.states, "state", (*loc, "source", si))
            if s in m.final_states:
                raise doc.fail(f"'{t.trigger}' leaves final state '{s}'", (*loc, "source", si))
            if (t.trigger, s) in seen:
                raise doc.fail(f"'{t.trigger}' from '{s}' is defined twice", (*loc, "source", si))
            seen.add((t.trigger, s))
            edges[s].add(t.dest)
        for field_name, allowed, what in [("roles", TRANSITION_ROLES, "role"),
                                          ("guards", GUARDS, "guard"),
                                          ("inputs", INPUTS, "input"),
                                          ("requires", catalogue.kinds, "document kind"),
                                          ("produces", catalogue.kinds, "document kind")]:
            for i, value in enumerate(getattr(t, field_name)):
                known(value, allowed, what, (*loc, field_name, i))

    reachable, todo = {m.initial}, [m.initial]
    while todo:
        for nxt in edges[todo.pop()] - reachable:
            reachable.add(nxt)
            todo.append(nxt)
    for s in m.states:
        if s not in reachable:
            raise doc.fail(f"state '{s}' cannot be reached from '{m.initial}'", ("states",))
    reverse: dict[str, set[str]] = {s: set() for s in m.states}
    for src, dests in edges.items():
        for d in dests:
            reverse[d].add(src)
    can_finish, todo = set(m.final_states), list(m.final_states)
    while todo:
        for prev in reverse[todo.pop()] - can_finish:
            can_finish.add(prev)
            todo.append(prev)
    for s in m.states:
        if s not in can_finish:
            raise doc.fail(f"no final state can be reached from '{s}' (a trap state)", ("states",))

    events = (OPEN_EVENT, *dict.fromkeys(t.trigger for t in m.transitions))
    names: set[str] = set()
    for si, span in enumerate(m.spans):
        if span.name in names:
            raise doc.fail(f"span '{span.name}' is defined twice", ("spans", si, "name"))
        names.add(span.name)
        for key in ("starts_on", "ends_on"):
            for i, event in enumerate(getattr(span, key)):
                known(event, events, "span event", ("spans", si, key, i))

    # A title for a name the definition does not have is a typo, never a harmless extra.
    named = {"state": m.states, "trigger": events[1:], "span": [s.name for s in m.spans]}
    for kind, names_of_kind in named.items():
        for name in getattr(m.titles, TITLED[kind]):
            known(name, names_of_kind, f"{kind} (titled)", ("titles", TITLED[kind], name))


__all__ = [
    "APPLICANT_KINDS",
    "CHANNELS",
    "LANGUAGES",
    "ROLES",
    "CommittedLimits",
    "Definition",
    "DefinitionMachine",
    "DocumentCatalogue",
    "SpanSpec",
    "Title",
    "TransitionSpec",
    "parse_definition",
]
