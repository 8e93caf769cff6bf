"""The pure core: who may do what to a case, with which documents and inputs.

No I/O here. :func:`decide_open` and :func:`decide` take plain facts and return what must be
written, or raise a :class:`~workflow.errors.WorkflowError` that says why not. What a user
typed is checked first, in :mod:`workflow.core.inputs`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import wraps
from typing import Any

from transitions import EventData

from ..errors import InvalidInput, InvalidTransition, MissingDocuments, NotPermitted, WorkflowError
from .definitions import Definition
from .divisions import STANDARD, Divisions
from .funds import check_information_form
from .inputs import (
    Actor,
    check_actor,
    check_agency,
    check_kinds,
    check_months,
    check_name,
    check_person_id,
    check_trigger_input,
    normalise,
    parse_amount,
    shown,
)
from .schema import APPLICANT_KINDS, CHANNELS, INPUTS, OPEN_EVENT, SpanSpec, TransitionSpec


def scope_of(origin: str, destination: str) -> str:
    """``cross_province`` when the province prefixes differ, else ``cross_city`` (a service
    case, given by one agency, is ``local``)."""
    return "cross_province" if origin[:2] != destination[:2] else "cross_city"


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What the rules need to know of a case.

    ``applicant_id``: the actor id of the applicant who opened it (None when a clerk opened
    it for them); ``person_id``: the person's ID number, which identifies a ``self`` applicant.
    """

    id: object
    state: str
    origin: str
    destination: str
    applicant: str
    channel: str
    documents: frozenset[str]
    requested: tuple[str, ...] = ()
    applicant_id: str | None = None
    person_id: str | None = field(default=None, repr=False)
    #: The contribution months recorded so far (the information form's, once it came).
    contribution_months: int | None = None
    #: Recorded at opening: a unit accepts the person at the destination (None: not recorded).
    receiving_employer: bool | None = None

    @classmethod
    def of(cls, case: Any) -> CaseFacts:
        """The facts of a stored case row or a :class:`~workflow.core.views.Case` view."""
        return cls(case.id, case.state, case.origin, case.destination, case.applicant,
                   case.channel, frozenset(case.documents), tuple(case.requested_documents),
                   case.applicant_id, case.person_id, getattr(case, "contribution_months", None),
                   getattr(case, "receiving_employer", None))


@dataclass(frozen=True, slots=True)
class Step:
    """What a permitted transition changes; the engine writes it in one transaction."""

    trigger: str
    source: str
    dest: str
    documents: tuple[str, ...]  # held after the step
    requested: tuple[str, ...]  # still requested after the step
    supplied: tuple[str, ...]  # documents that came with this step (supplied or produced)
    inputs: Mapping[str, Any]  # JSON-safe
    spans_ended: tuple[str, ...] | None  # None: every running span (a final state)
    spans_started: tuple[SpanSpec, ...]
    papers: tuple[str, ...] = ()  # the papers the step issues (workflow.core.papers)


def is_applicant(actor: Actor, facts: CaseFacts) -> bool:
    """The very applicant of the case: for ``self``, the person with the case's ID number;
    for an employer or agent, the actor who opened the case."""
    if actor.role != facts.applicant:
        return False
    if actor.role == "self":
        return actor.person_id is not None and actor.person_id == facts.person_id
    return facts.applicant_id is not None and actor.id == facts.applicant_id


def check_department(actor: Actor, insurance: str, case_id: object = None) -> None:
    """Refuse a clerk or supervisor of another department (seed 000: "the transfer of pension
    insurance relationship is handled by social security bureau, and the transfer of medical
    insurance relationship is handled by medical insurance bureau. These are two different
    departments")."""
    if actor.departments is not None and insurance not in actor.departments:
        what = f"case {case_id}" if case_id is not None else "this case"
        raise NotPermitted(
            f"{what} is of {insurance} insurance, handled by the {insurance} department; "
            f"{actor.describe()} works in the {' and '.join(actor.departments)} department")


def _acts_as(roles: Iterable[str], actor: Actor, facts: CaseFacts) -> str | None:
    """How the actor may act: ``'self'`` in one of the roles, ``'on_behalf'`` of the
    applicant (a destination clerk of the case), or None: not at all."""
    roles = tuple(roles)
    for role in roles:
        if role == "applicant" and is_applicant(actor, facts):
            return "self"
        if role == actor.role == "origin_clerk" and actor.agency == facts.origin:
            return "self"
        if role == actor.role == "destination_clerk" and actor.agency == facts.destination:
            return "self"
    if ("applicant" in roles and actor.role == "destination_clerk"
            and actor.agency == facts.destination):
        return "on_behalf"
    return None


def _the_applicant(facts: CaseFacts) -> str:
    if facts.applicant == "self":
        return "the person themselves (self, giving their own ID number)"
    if facts.applicant_id is None:
        return f"the applicant ({facts.applicant}; not recorded: the case was opened by a clerk)"
    return f"the applicant ({facts.applicant} {facts.applicant_id})"


def _who_may(roles: Iterable[str], facts: CaseFacts) -> str:
    named = {
        "applicant": _the_applicant(facts),
        "origin_clerk": f"an origin_clerk of agency {facts.origin}",
        "destination_clerk": f"a destination_clerk of agency {facts.destination}",
    }
    roles = tuple(roles)
    who = " or ".join(named[r] for r in roles)
    if "applicant" in roles and "destination_clerk" not in roles:
        who += f", or a destination_clerk of agency {facts.destination} on their behalf"
    return who


def _may_act(roles: Iterable[str], facts: CaseFacts) -> list[tuple[str, str | None]]:
    """Who may act, as :func:`_who_may` says it: (role, agency; None for the applicant)."""
    at = {"origin_clerk": facts.origin, "destination_clerk": facts.destination}
    roles = tuple(roles)
    who: list[tuple[str, str | None]] = [
        (facts.applicant, None) if r == "applicant" else (r, at[r]) for r in roles]
    if "applicant" in roles and "destination_clerk" not in roles:
        who.append(("destination_clerk", facts.destination))  # on the applicant's behalf
    return who


def decide_open(definition: Definition, *, person_id: object, person_name: object,
                destination: object, applicant: object, channel: object, origin: object = None,
                documents: Iterable[str], actor: Actor, divisions: Divisions = STANDARD,
                today: dt.date | None = None, origin_scheme: object = None,
                destination_scheme: object = None, receiving_employer: object = None,
                agent_name: object = None, agent_id_number: object = None) -> dict[str, Any]:
    """Check an application; return the case's normalised fields.

    An entrusted agent's application (seed 000: "you need to prepare the original and
    photocopy of the client's ID card and the power of attorney") brings the definition's
    agent documents when it is opened, and names the agent (name and ID number). Whether a
    unit accepts the person at the destination is recorded (``receiving_employer``; default:
    an employer's application is its receiving employer's, anyone else's has none)."""
    actor = check_actor(actor, divisions)
    check_department(actor, definition.insurance)
    pid = check_person_id(person_id, today)
    name = check_name(person_name)
    destination = check_agency(destination, "destination", divisions)
    if definition.kind == "service":
        # One agency gives the service: the case's origin is its destination.
        if normalise(origin) not in (None, "", destination):
            raise InvalidInput(f"{definition.name} is a service of one agency (the "
                               "destination): give no origin")
        origin = destination
    else:
        origin = check_agency(origin, "origin", divisions)
    if origin == destination and definition.kind != "service":
        raise InvalidInput(f"origin and destination are the same agency ({origin}): "
                           "a transfer crosses planning areas")
    applicant, channel = normalise(applicant), normalise(channel)
    if applicant not in APPLICANT_KINDS:
        raise InvalidInput(f"applicant must be one of {', '.join(APPLICANT_KINDS)}, "
                           f"not {shown(applicant)}")
    if channel not in CHANNELS:
        raise InvalidInput(f"channel must be one of {', '.join(CHANNELS)}, not {shown(channel)}")
    docs = definition.catalogue.check(check_kinds(documents))
    schemes = _check_schemes(definition, origin_scheme, destination_scheme)
    agent = _check_agent(definition, applicant, agent_name, agent_id_number, docs, today)
    employer = _check_receiving_employer(applicant, receiving_employer)
    counters = {"origin": ("origin_clerk", origin), "destination": ("destination_clerk", destination)}
    clerks = [counters[at] for at in definition.application_at]
    if not (actor.role == applicant or (actor.role, actor.agency) in clerks):
        who = " or ".join(f"a {role} of agency {agency}" for role, agency in clerks)
        raise NotPermitted(
            f"only the applicant ({applicant}) or {who} may open this case; "
            f"{actor.describe()} may not", may_act=[(applicant, None), *clerks]
        )
    if actor.role == "self" and actor.person_id != pid:
        raise NotPermitted("a person applies for themselves only: the actor's person_id must be "
                           "the ID number of the case (or a clerk opens it)",
                           may_act=[(applicant, None), *clerks])
    return {
        **schemes, "person_id": pid, "person_name": name, "origin": origin,
        "destination": destination, "applicant": applicant, "channel": channel,
        "applicant_id": actor.id if actor.role == applicant else None,
        "scope": "local" if definition.kind == "service" else scope_of(origin, destination),
        "documents": docs,
        "spans_started": definition.spans_started_by(OPEN_EVENT, applicant, employer),
        "receiving_employer": employer, **agent,
    }


def _check_agent(definition: Definition, applicant: str, agent_name: object,
                 agent_id_number: object, documents: Iterable[str],
                 today: dt.date | None) -> dict[str, str | None]:
    """An entrusted agent's name and ID number, and the agent's documents held at opening."""
    if applicant != "agent":
        named = [k for k, v in (("agent_name", agent_name), ("agent_id_number", agent_id_number))
                 if v is not None]
        if named:
            raise InvalidInput(f"only an entrusted agent's application names the agent: leave "
                               f"out {', '.join(named)} (applicant is {applicant})")
        return {"agent_name": None, "agent_id_number": None}
    if agent_name is None or agent_id_number is None:
        raise InvalidInput("an entrusted agent's application names the agent: give agent_name "
                           "and agent_id_number (the agent's resident ID number)")
    try:
        number = check_person_id(agent_id_number, today)
    except InvalidInput:  # the message would speak of person_id
        raise InvalidInput("agent_id_number is not a valid 18-character resident ID "
                           "number") from None
    held = set(documents)
    missing = [k for k in definition.model.application_documents.applicant.get("agent", ())
               if k not in held]
    if missing:
        raise MissingDocuments(OPEN_EVENT, definition.catalogue.describe(missing))
    return {"agent_name": check_name(agent_name, "agent_name"), "agent_id_number": number}


def _check_receiving_employer(applicant: str, given: object) -> bool:
    """Whether a unit accepts the person at the destination: as given (True or False), else
    an employer's application is its receiving employer's and anyone else's has none."""
    if given is None:
        return applicant == "employer"
    if not isinstance(given, bool):
        raise InvalidInput(f"receiving_employer must be true or false, not {shown(given)}")
    if applicant == "employer" and not given:
        raise InvalidInput("an employer's application is the receiving employer's: "
                           "receiving_employer cannot be false")
    return given


def _check_schemes(definition: Definition, origin_scheme: object,
                   destination_scheme: object) -> dict[str, str | None]:
    """The medical insurance scheme at each end, where the definition records them."""
    given = {"origin_scheme": normalise(origin_scheme),
             "destination_scheme": normalise(destination_scheme)}
    if not definition.schemes:
        named = [k for k, v in given.items() if v is not None]
        if named:
            raise InvalidInput(f"{definition.name} version {definition.version} records no "
                               f"insurance scheme: leave out {', '.join(named)}")
        return given
    for what, value in given.items():
        if value not in definition.schemes:
            raise InvalidInput(f"{what} must be one of {', '.join(definition.schemes)}, "
                               f"not {shown(value)}")
    return given


def decide_attach(definition: Definition, facts: CaseFacts, actor: Actor,
                  documents: Iterable[str], divisions: Divisions = STANDARD) -> Step:
    """Documents added to a running case by its applicant or a clerk of either agency."""
    actor = check_actor(actor, divisions)
    check_department(actor, definition.insurance, facts.id)
    supplied = definition.catalogue.check(check_kinds(documents))
    if not supplied:
        raise InvalidInput("name at least one document to attach")
    if facts.state in definition.final_states:
        raise InvalidInput(f"case {facts.id} is closed ({facts.state}): nothing can be attached")
    if not _acts_as(("applicant", "origin_clerk", "destination_clerk"), actor, facts):
        raise NotPermitted(
            f"documents of case {facts.id} may be attached by {_the_applicant(facts)} "
            f"or a clerk of agency {facts.origin} or {facts.destination}; "
            f"{actor.describe()} may not",
            may_act=_may_act(("applicant", "origin_clerk", "destination_clerk"), facts))
    held = set(facts.documents) | set(supplied)
    return Step("attach_documents", facts.state, facts.state,
                tuple(k for k in definition.catalogue.kinds if k in held), facts.requested,
                supplied, {}, (), ())


def _condition(check: Callable[[_Attempt, TransitionSpec], None]) -> Callable[[_Attempt, EventData], bool]:
    """A rule as a condition of the definition's machine. `transitions` only learns ``False``
    from a failed condition, so the rule's own error (naming the documents, the role or the
    input) is kept on the attempt for :func:`decide` to raise."""
    @wraps(check)
    def condition(self: _Attempt, event: EventData) -> bool:
        assert event.transition is not None  # decide() sets the transition it checks
        spec = self.definition.transitions[event.event.name, event.transition.source]
        try:
            check(self, spec)
        except WorkflowError as error:
            self.refusal = error
            return False
        return True
    return condition


class _Attempt:
    """One call of :func:`decide`: the model the definition's machine checks a trigger on.

    It is made for the call and never added to the machine (``add_model``). The machine's
    conditions are the methods below, named in :data:`~workflow.core.schema.CONDITIONS`;
    transitions resolves each name on this model. The machine is only read, so threads share
    it safely; each call has its own attempt.
    """

    __slots__ = ("actor", "acts", "checked", "definition", "documents", "facts", "held",
                 "inputs", "refusal", "supplied")

    def __init__(self, definition: Definition, facts: CaseFacts, actor: Actor,
                 documents: Iterable[str], inputs: Mapping[str, Any]) -> None:
        self.definition, self.facts, self.actor = definition, facts, actor
        self.documents, self.inputs = documents, inputs
        self.refusal: WorkflowError | None = None
        self.acts: str | None = None
        self.checked: dict[str, Any] = {}
        self.supplied: tuple[str, ...] = ()
        self.held: set[str] = set(facts.documents)

    @_condition
    def permitted(self, spec: TransitionSpec) -> None:
        actor, facts = self.actor, self.facts
        if actor.role == "supervisor":
            raise NotPermitted(f"a supervisor may read cases but not fire '{spec.trigger}'",
                               may_act=_may_act(spec.roles, facts), trigger=spec.trigger)
        self.acts = _acts_as(spec.roles, actor, facts)
        if self.acts is None:
            raise NotPermitted(f"'{spec.trigger}' on case {facts.id} may be fired by "
                               f"{_who_may(spec.roles, facts)}; {actor.describe()} may not",
                               may_act=_may_act(spec.roles, facts), trigger=spec.trigger)

    @_condition
    def inputs_valid(self, spec: TransitionSpec) -> None:
        # An amount may be given beside an information form: it must be the form's total.
        takes = {*spec.inputs, *(("amount",) if "information_form" in spec.inputs else ())}
        extra = sorted(set(self.inputs) - takes)
        if extra:
            raise InvalidInput(f"'{spec.trigger}' takes no {', '.join(extra)}", field=extra[0],
                               reason="not_taken")
        kinds = self.definition.catalogue.kinds
        for name in spec.inputs:
            if name not in self.inputs:
                raise InvalidInput(f"'{spec.trigger}' needs {name}: {INPUTS[name]}", field=name,
                                   reason="needed")
            try:
                if name == "information_form":
                    self.checked[name] = check_information_form(self.definition.insurance,
                                                                self.inputs[name])
                else:
                    self.checked[name] = check_trigger_input(name, self.inputs[name], kinds)
            except InvalidInput as exc:  # the input at fault, for the screens to name it
                exc.field = exc.field or name
                raise
        self._recorded()
        self.supplied = self.definition.catalogue.check(check_kinds(self.documents))
        self.held.update(self.supplied)

    def _recorded(self) -> None:
        """What the case records from the papers' inputs: the information form's total is
        the amount moved (one given beside it must be equal) and its months are the months
        counted; at the destination, the months the person has there are added to them."""
        form = self.checked.get("information_form")
        if form is not None:
            total = Decimal(form["total"])
            if "amount" in self.inputs:
                given = parse_amount(self.inputs["amount"])
                if given != total:
                    raise InvalidInput(f"the amount given ({given:.2f} yuan) is not the "
                                       f"information form's total ({total:.2f} yuan)",
                                       field="amount", reason="amount_not_total",
                                       given=f"{given:.2f}", total=f"{total:.2f}")
            self.checked["amount"] = form["total"]
            self.checked["contribution_months"] = form["months"]
        if "months_at_destination" in self.checked:
            months = (self.facts.contribution_months or 0) + self.checked["months_at_destination"]
            self.checked["contribution_months"] = check_months(months, "the cumulative months")

    @_condition
    def documents_required(self, spec: TransitionSpec) -> None:
        self._hold(spec, spec.requires)

    @_condition
    def application_complete(self, spec: TransitionSpec) -> None:
        self._hold(spec, self.definition.application_documents(self.facts.applicant,
                                                               self.facts.channel))

    @_condition
    def requested_documents_supplied(self, spec: TransitionSpec) -> None:
        self._hold(spec, self.facts.requested)

    def _hold(self, spec: TransitionSpec, needed: Iterable[str]) -> None:
        """Refuse when a needed document is not held, naming every document the transition
        lacks (its requirements and its document guards together), as one refusal."""
        if all(k in self.held for k in needed):
            return
        missing = documents_needed(self.definition, spec, self.facts, self.held)
        raise MissingDocuments(spec.trigger, self.definition.catalogue.describe(missing))


def documents_needed(definition: Definition, spec: TransitionSpec, facts: CaseFacts,
                     held: Iterable[str] | None = None) -> list[str]:
    """The documents a step (``spec``) needs that the case does not hold (``held``: the
    documents held with this step's, default the case's): its own requirements, the
    application's documents (``application_complete``) and those the agency asked for
    (``requested_documents_supplied``), each once, in that order."""
    every = [*spec.requires]
    if "application_complete" in spec.guards:
        every += definition.application_documents(facts.applicant, facts.channel)
    if "requested_documents_supplied" in spec.guards:
        every += facts.requested
    have = set(facts.documents if held is None else held)
    return [k for k in dict.fromkeys(every) if k not in have]


def decide(definition: Definition, facts: CaseFacts, trigger: str, actor: Actor,
           documents: Iterable[str] = (), inputs: Mapping[str, Any] | None = None,
           divisions: Divisions = STANDARD) -> Step:
    """Check one trigger against the case; return the :class:`Step` or raise why not.

    The definition's machine decides, as its ``may_<trigger>`` does: the event's transitions
    from the case's state, each checked with its conditions against an ``EventData`` for an
    :class:`_Attempt` of the case; the first that passes gives the destination. No transition
    from the state is :class:`InvalidTransition` naming the machine's triggers from it; a
    failed condition is the error its rule gave. Nothing is executed on the machine and no
    model is added to it: it is shared, read-only, by every case and thread. A refusal says
    the definition it names steps and documents of (``refusal.definition``).
    """
    try:
        return _decide(definition, facts, trigger, actor, documents, inputs, divisions)
    except WorkflowError as refusal:
        refusal.definition = refusal.definition or (definition.name, definition.version)
        raise


def _decide(definition: Definition, facts: CaseFacts, trigger: str, actor: Actor,
            documents: Iterable[str], inputs: Mapping[str, Any] | None,
            divisions: Divisions) -> Step:
    actor = check_actor(actor, divisions)
    check_department(actor, definition.insurance, facts.id)
    inputs = {k: v for k, v in (inputs or {}).items() if v is not None}
    trigger = normalise(trigger)
    machine = definition.machine
    event = machine.events.get(trigger) if isinstance(trigger, str) else None
    if event is None:
        raise InvalidInput(f"{shown(trigger)} is not a trigger of {definition.name}; triggers: "
                           f"{', '.join(definition.triggers)}")
    transitions = event.transitions.get(facts.state)  # .get: never adds to the shared machine
    if not transitions:
        raise InvalidTransition(facts.id, trigger, facts.state,
                                definition.allowed_triggers(facts.state))
    attempt = _Attempt(definition, facts, actor, documents, inputs)
    state = machine.states[facts.state]
    for transition in transitions:
        event_data = EventData(state, event, machine, attempt, (), {})
        event_data.transition = transition
        if all(condition.check(event_data) for condition in transition.conditions):
            break
    else:
        raise attempt.refusal or NotPermitted(f"'{trigger}' was refused on case {facts.id}",
                                                   trigger=trigger)

    spec = definition.transitions[trigger, facts.state]
    checked, held, requested = attempt.checked, attempt.held, facts.requested
    if "requested_documents_supplied" in spec.guards:
        requested = ()
    if "documents_needed" in checked:
        requested = tuple(checked["documents_needed"])
        held -= set(requested)  # what was found wanting is no longer held
    held.update(spec.produces)
    if attempt.acts == "on_behalf":  # recorded in the history row's inputs
        checked["on_behalf_of"] = " ".join(
            p for p in (facts.applicant, None if facts.applicant == "self" else facts.applicant_id)
            if p)

    dest = transition.dest
    assert dest is not None  # every transition of a definition names its destination
    final = dest in definition.final_states
    ordered = tuple(k for k in definition.catalogue.kinds if k in held)
    return Step(
        trigger=trigger, source=facts.state, dest=dest, documents=ordered,
        requested=requested, supplied=tuple(dict.fromkeys((*attempt.supplied, *spec.produces))),
        inputs=checked,
        spans_ended=None if final else definition.spans_ended_by(trigger),
        spans_started=() if final else definition.spans_started_by(
            trigger, facts.applicant, facts.receiving_employer),
        papers=spec.papers,
    )


__all__ = [
    "CaseFacts",
    "Step",
    "check_department",
    "decide",
    "decide_attach",
    "decide_open",
    "documents_needed",
    "is_applicant",
    "scope_of",
]
