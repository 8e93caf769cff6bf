"""The pure core: who may do what to a case, with which documents and inputs.

No I/O here. :func:`decide_open` and :func:`decide` take plain facts and return what must be
written, or raise a :class:`~workflow.errors.WorkflowError` that says why not.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from stdnum import exceptions as stdnum_errors
from stdnum.cn import ric
from stdnum.util import isdigits

from .definitions import (
    APPLICANT_KINDS,
    CHANNELS,
    CLERK_ROLES,
    INPUTS,
    OPEN_EVENT,
    ROLES,
    Definition,
    SpanSpec,
)
from .errors import InvalidInput, InvalidTransition, MissingDocuments, NotPermitted

# GB/T 2260 province-level codes (first two digits of an administrative division code).
PROVINCES = frozenset({
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
    50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82,
})
_AGENCY = re.compile(r"^\d{6}$")


@dataclass(frozen=True, slots=True)
class Actor:
    """Who fires a trigger: an ``id``, a ``role``, and for clerks their agency's division code."""

    id: str
    role: str
    agency: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id.strip():
            raise InvalidInput("an actor needs a non-empty id")
        if self.role not in ROLES:
            raise InvalidInput(f"unknown role '{self.role}'; roles: {', '.join(ROLES)}")
        if self.role in CLERK_ROLES:
            if self.agency is None:
                raise InvalidInput(f"a {self.role} must name their agency (6-digit division code)")
            check_agency(self.agency, "agency")

    def describe(self) -> str:
        return f"{self.role} {self.id}" + (f" of agency {self.agency}" if self.agency else "")


def check_agency(code: object, what: str) -> str:
    """A 6-digit GB/T 2260 administrative division code with a real province prefix."""
    if not isinstance(code, str) or not _AGENCY.match(code) or int(code[:2]) not in PROVINCES:
        raise InvalidInput(
            f"{what} must be a 6-digit administrative division code (GB/T 2260) such as "
            f"'440300', not {code!r}"
        )
    return code


def check_person_id(person_id: object) -> str:
    """An 18-character resident ID number (GB 11643): length, digits, check digit, birth date
    and birth place, as ``stdnum.cn.ric.validate`` checks them.

    The birth-place look-up (the slow part of ``validate``) is remembered per place code and
    birth year, which is all it depends on, so bulk imports stay fast.
    """
    if not isinstance(person_id, str):
        raise InvalidInput("person_id must be the 18-character resident ID number, as text")
    try:
        number = person_id.strip().upper()
        if len(number) != 18:  # separators and the like: let stdnum clean it
            number = ric.compact(number)
        if len(number) != 18:
            raise ric.InvalidLength()
        if not isdigits(number[:-1]):
            raise ric.InvalidFormat()
        if number[-1] != ric.calc_check_digit(number):
            raise ric.InvalidChecksum()
        try:  # ric.get_birth_date, without cleaning the number a second time
            dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
        except ValueError:
            raise ric.InvalidComponent() from None
        if not _known_birth_place(number[:6], number[6:10]):
            raise ric.InvalidComponent()
        return number
    except stdnum_errors.ValidationError as exc:
        # The number itself is never echoed back: error texts end up in logs.
        raise InvalidInput(f"person_id is not a valid resident ID number: {exc.message}") from None


@lru_cache(maxsize=1 << 16)
def _known_birth_place(code: str, year: str) -> bool:
    try:
        ric.get_birth_place(f"{code}{year}01010000")
    except (stdnum_errors.ValidationError, KeyError):  # stdnum 2.2 raises KeyError for some codes
        return False
    return True


def mask_person_id(person_id: str) -> str:
    """``110105********002X``: division code and last four characters only."""
    return f"{person_id[:6]}{'*' * 8}{person_id[-4:]}"


def scope_of(origin: str, destination: str) -> str:
    """``cross_province`` when the province prefixes differ, else ``cross_city``."""
    return "cross_province" if origin[:2] != destination[:2] else "cross_city"


def check_date(value: object, what: str = "on") -> dt.date:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise InvalidInput(f"{what} must be a business date (datetime.date), not {value!r}")
    return value


def parse_amount(value: object) -> Decimal:
    """Money is exact: a Decimal, an int or a decimal string; never a float."""
    if isinstance(value, (bool, float)):
        raise InvalidInput(
            "amount must be exact: pass a Decimal, an int or a string such as '12345.67', "
            "not a float"
        )
    try:
        amount = Decimal(value) if isinstance(value, (Decimal, int, str)) else None
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        raise InvalidInput(f"amount must be a sum of money in yuan such as '12345.67', not {value!r}")
    if amount < 0:
        raise InvalidInput(f"amount cannot be negative ({amount})")
    if amount != amount.quantize(Decimal("0.01")):
        raise InvalidInput(f"amount has more than 2 decimal places ({amount})")
    return amount.quantize(Decimal("0.01"))


def _check_input(name: str, value: Any, kinds: Iterable[str]) -> Any:
    if name == "explanation":
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput("a rejection needs a written explanation (non-empty text)")
        return value.strip()
    if name == "documents_needed":
        if isinstance(value, str) or not value:
            raise InvalidInput("documents_needed must name at least one document kind")
        known = set(kinds)
        unknown = [k for k in value if k not in known]
        if unknown:
            raise InvalidInput(f"unknown document kind(s) needed: {', '.join(map(str, unknown))}")
        return list(dict.fromkeys(value))
    if name == "amount":
        return str(parse_amount(value))
    if name == "contribution_months":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidInput(
                f"contribution_months must be a whole number of months >= 0, not {value!r}"
            )
        return value
    raise AssertionError(name)  # pragma: no cover - definitions are validated against INPUTS


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What the rules need to know of a case."""

    id: object
    state: str
    origin: str
    destination: str
    applicant: str
    channel: str
    documents: frozenset[str]
    requested: tuple[str, ...] = ()


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


def _may_act(roles: Iterable[str], actor: Actor, facts: CaseFacts) -> bool:
    for role in roles:
        if role == "applicant" and actor.role == facts.applicant:
            return True
        if role == actor.role == "origin_clerk" and actor.agency == facts.origin:
            return True
        if role == actor.role == "destination_clerk" and actor.agency == facts.destination:
            return True
    return False


def _who_may(roles: Iterable[str], facts: CaseFacts) -> str:
    named = {
        "applicant": f"the applicant ({facts.applicant})",
        "origin_clerk": f"an origin_clerk of agency {facts.origin}",
        "destination_clerk": f"a destination_clerk of agency {facts.destination}",
    }
    return " or ".join(named[r] for r in roles)


def decide_open(definition: Definition, *, person_id: object, person_name: object,
                origin: object, destination: object, applicant: object, channel: object,
                documents: Iterable[str], actor: Actor, origin_scheme: object = None,
                destination_scheme: object = None) -> dict[str, Any]:
    """Check an application; return the case's normalised fields."""
    pid = check_person_id(person_id)
    if not isinstance(person_name, str) or not person_name.strip():
        raise InvalidInput("person_name must be the person's name (non-empty text)")
    check_agency(origin, "origin")
    check_agency(destination, "destination")
    if origin == destination:
        raise InvalidInput(f"origin and destination are the same agency ({origin}): "
                           "a transfer crosses planning areas")
    if applicant not in APPLICANT_KINDS:
        raise InvalidInput(f"applicant must be one of {', '.join(APPLICANT_KINDS)}, "
                           f"not {applicant!r}")
    if channel not in CHANNELS:
        raise InvalidInput(f"channel must be one of {', '.join(CHANNELS)}, not {channel!r}")
    if isinstance(documents, str):
        raise InvalidInput("documents must be a list of document kinds")
    docs = definition.catalogue.check(documents)
    schemes = _check_schemes(definition, origin_scheme, destination_scheme)
    counters = {"origin": ("origin_clerk", origin), "destination": ("destination_clerk", destination)}
    clerks = [counters[at] for at in definition.application_at]
    if not (actor.role == applicant or (actor.role, actor.agency) in clerks):
        who = " or ".join(f"a {role} of agency {agency}" for role, agency in clerks)
        raise NotPermitted(
            f"only the applicant ({applicant}) or {who} may open this case; "
            f"{actor.describe()} may not"
        )
    return {**schemes,
        "person_id": pid, "person_name": person_name.strip(), "origin": origin,
        "destination": destination, "applicant": applicant, "channel": channel,
        "scope": scope_of(origin, destination), "documents": docs,
        "spans_started": definition.spans_started_by(OPEN_EVENT, applicant),
    }


def _check_schemes(definition: Definition, origin_scheme: object,
                   destination_scheme: object) -> dict[str, str | None]:
    """The medical insurance scheme at each end, where the definition records them."""
    given = {"origin_scheme": origin_scheme, "destination_scheme": destination_scheme}
    if not definition.schemes:
        named = [k for k, v in given.items() if v is not None]
        if named:
            raise InvalidInput(f"{definition.name} version {definition.version} records no "
                               f"insurance scheme: leave out {', '.join(named)}")
        return given
    for what, value in given.items():
        if value not in definition.schemes:
            raise InvalidInput(f"{what} must be one of {', '.join(definition.schemes)}, "
                               f"not {value!r}")
    return given


def decide_attach(definition: Definition, facts: CaseFacts, actor: Actor,
                  documents: Iterable[str]) -> Step:
    """Documents added to a running case by its applicant or a clerk of either agency."""
    if isinstance(documents, str):
        raise InvalidInput("documents must be a list of document kinds")
    supplied = definition.catalogue.check(documents)
    if not supplied:
        raise InvalidInput("name at least one document to attach")
    if facts.state in definition.final_states:
        raise InvalidInput(f"case {facts.id} is closed ({facts.state}): nothing can be attached")
    if not _may_act(("applicant", "origin_clerk", "destination_clerk"), actor, facts):
        raise NotPermitted(
            f"documents of case {facts.id} may be attached by the applicant ({facts.applicant}) "
            f"or a clerk of agency {facts.origin} or {facts.destination}; "
            f"{actor.describe()} may not")
    held = set(facts.documents) | set(supplied)
    return Step("attach_documents", facts.state, facts.state,
                tuple(k for k in definition.catalogue.kinds if k in held), facts.requested,
                supplied, {}, (), ())


def decide(definition: Definition, facts: CaseFacts, trigger: str, actor: Actor,
           documents: Iterable[str] = (), inputs: Mapping[str, Any] | None = None) -> Step:
    """Check one trigger against the case; return the :class:`Step` or raise why not."""
    inputs = {k: v for k, v in (inputs or {}).items() if v is not None}
    if trigger not in definition.triggers:
        raise InvalidInput(f"'{trigger}' is not a trigger of {definition.name}; triggers: "
                           f"{', '.join(definition.triggers)}")
    spec = definition.transitions.get((trigger, facts.state))
    if spec is None:
        raise InvalidTransition(facts.id, trigger, facts.state,
                                definition.allowed_triggers(facts.state))
    if actor.role == "supervisor":
        raise NotPermitted(f"a supervisor may read cases but not fire '{trigger}'")
    if not _may_act(spec.roles, actor, facts):
        raise NotPermitted(f"'{trigger}' on case {facts.id} may be fired by "
                           f"{_who_may(spec.roles, facts)}; {actor.describe()} may not")

    extra = sorted(set(inputs) - set(spec.inputs))
    if extra:
        raise InvalidInput(f"'{trigger}' takes no {', '.join(extra)}")
    checked: dict[str, Any] = {}
    for name in spec.inputs:
        if name not in inputs:
            raise InvalidInput(f"'{trigger}' needs {name}: {INPUTS[name]}")
        checked[name] = _check_input(name, inputs[name], definition.catalogue.kinds)

    if isinstance(documents, str):
        raise InvalidInput("documents must be a list of document kinds")
    supplied = definition.catalogue.check(documents)
    held = set(facts.documents) | set(supplied)
    requested = facts.requested
    needed: list[str] = list(spec.requires)
    if "application_complete" in spec.guards:
        needed += definition.application_documents(facts.applicant, facts.channel)
    if "requested_documents_supplied" in spec.guards:
        needed += requested
        requested = ()
    missing = [k for k in dict.fromkeys(needed) if k not in held]
    if missing:
        raise MissingDocuments(trigger, definition.catalogue.describe(missing))
    if "documents_needed" in checked:
        requested = tuple(checked["documents_needed"])
        held -= set(requested)  # what was found wanting is no longer held
    held.update(spec.produces)

    dest = definition.destinations[trigger, facts.state]
    final = dest in definition.final_states
    ordered = tuple(k for k in definition.catalogue.kinds if k in held)
    return Step(
        trigger=trigger, source=facts.state, dest=dest, documents=ordered,
        requested=requested, supplied=tuple(dict.fromkeys((*supplied, *spec.produces))),
        inputs=checked,
        spans_ended=None if final else definition.spans_ended_by(trigger),
        spans_started=() if final else definition.spans_started_by(trigger, facts.applicant),
    )


__all__ = [
    "Actor",
    "CaseFacts",
    "Step",
    "check_agency",
    "check_person_id",
    "decide",
    "decide_attach",
    "decide_open",
    "mask_person_id",
    "parse_amount",
    "scope_of",
]
