"""The pure core: who may do what to a case, with which documents and inputs.

No I/O here. :func:`decide_open` and :func:`decide` take plain facts and return what must be
written, or raise a :class:`~workflow.errors.WorkflowError` that says why not.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache, wraps
from typing import Any
from zoneinfo import ZoneInfo

from stdnum import exceptions as stdnum_errors
from stdnum.cn import ric
from stdnum.util import isdigits
from transitions import EventData

from ..errors import InvalidInput, InvalidTransition, MissingDocuments, NotPermitted, WorkflowError
from .definitions import (
    APPLICANT_KINDS,
    CHANNELS,
    CLERK_ROLES,
    INPUTS,
    OPEN_EVENT,
    ROLES,
    Definition,
    SpanSpec,
    TransitionSpec,
)
from .divisions import STANDARD, Divisions

CHINA = ZoneInfo("Asia/Shanghai")


def today() -> dt.date:
    """Today's business date in China time."""
    return dt.datetime.now(CHINA).date()


_AGENCY = re.compile(r"[0-9]{6}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MONEY = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
# The amount column holds fen in a signed 64-bit integer.
MAX_AMOUNT = Decimal(2**63 - 1).scaleb(-2)
# Cumulative contribution months cannot exceed a working life: 60 years.
MAX_MONTHS = 60 * 12
NAME_MAX = 100  # characters of a person's name
ID_MAX = 64  # characters of an actor's id
#: The fields of an application (``open_case``'s arguments, plus the definition and the day it
#: was received, ``on``), and those that may be left out.
APPLICATION_FIELDS = ("definition", "person_id", "person_name", "origin", "destination",
                      "applicant", "channel", "documents", "on", "origin_scheme",
                      "destination_scheme")
OPTIONAL_APPLICATION_FIELDS = ("on", "channel", "documents", "origin_scheme", "destination_scheme")
TEXT_MAX = 2000  # characters of a written explanation
# The middle dot of minority and foreign names (U+00B7) and the look-alikes typed for it.
NAME_DOTS = frozenset("\u00b7\u2027\u2022\u2219\u22c5\u30fb\uff65\uff0e\u0387")
_NAME_PUNCTUATION = NAME_DOTS | frozenset("-'\u2019.")
# Letters and marks of any script, letter numbers (〇), digits (placeholders such as 申请人12),
# spaces, and private-use characters (rare CJK characters of names in legacy GB18030 systems).
_NAME_CATEGORIES = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Nl", "Nd", "Zs", "Co"})


def normalise(value: object) -> Any:
    """What a clerk typed, as the engine compares and stores it: Unicode NFKC (full-width
    digits and letters become ASCII: ``'３１００００'`` is ``'310000'``) without surrounding
    whitespace (``'310000\\n'``). Anything but text is returned as it is, for the caller's type
    check. Every code, number and date field goes through here: the API, the CLI and CSV import.
    """
    if isinstance(value, str):
        return unicodedata.normalize("NFKC", value).strip()
    return value


def _shown(value: object) -> str:
    """A refused value, quoted in an error only when short: a long one may be an ID number."""
    text = repr(value)
    return text if len(text) <= 16 else f"a {type(value).__name__} too long to repeat"


def check_text(value: object, what: str, limit: int, *, lines: bool = False) -> str:
    """Free text that will be stored: no control characters (line breaks and tabs only where
    ``lines``), at most ``limit`` characters, not empty; stripped."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{what} must be non-empty text")
    text = value.strip()
    if len(text) > limit:
        raise InvalidInput(f"{what} is {len(text)} characters long; the limit is {limit}")
    allowed = "\n\r\t" if lines else ""
    if any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in allowed for ch in text):
        raise InvalidInput(f"{what} contains a control character; type it as plain text")
    return text


def check_name(value: object, what: str = "person_name") -> str:
    """A person's name as on the ID card: letters of any script (every CJK character
    included), the middle dot of minority names (·, and the look-alikes typed for it),
    spaces, hyphens, apostrophes and digits; at most :data:`NAME_MAX` characters; no symbols,
    emoji or control characters."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{what} must be the person's name (non-empty text)")
    name = value.strip()
    if len(name) > NAME_MAX:
        raise InvalidInput(f"{what} is {len(name)} characters long; the limit is {NAME_MAX}")
    for ch in name:
        if ch not in _NAME_PUNCTUATION and unicodedata.category(ch) not in _NAME_CATEGORIES:
            code = f"U+{ord(ch):04X}"
            kind = ("a control character" if unicodedata.category(ch) in ("Cc", "Cf", "Cs")
                    else f"'{ch}'")
            raise InvalidInput(f"{what} contains {kind} ({code}): a name has letters, middle "
                               f"dots (·), spaces, hyphens, apostrophes and digits only")
    return name


def parse_date(value: object, what: str = "date") -> dt.date:
    """A business date typed as ``YYYY-MM-DD`` (full-width digits and padding allowed); not
    ``20250926``, ``2025-W39-5`` or any other ISO 8601 spelling."""
    text = normalise(value)
    if isinstance(text, str) and _DATE.fullmatch(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    raise InvalidInput(f"{what} must be a date as YYYY-MM-DD, not {_shown(value)}")


@dataclass(frozen=True, slots=True)
class Actor:
    """Who fires a trigger: an ``id``, a ``role``, and for clerks their agency's division code.

    A person acting for themselves (role ``self``) gives their own resident ID number as
    ``person_id`` (authenticated by the counter or the platform): it is what makes them the
    applicant of their case. It is never logged and not part of ``repr``.
    """

    id: str
    role: str
    agency: str | None = None
    person_id: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        actor_id = normalise(self.id)
        if not isinstance(actor_id, str) or not actor_id:
            raise InvalidInput("an actor needs a non-empty id")
        if len(actor_id) > ID_MAX or not actor_id.isprintable():
            raise InvalidInput(f"an actor id is printable text of at most {ID_MAX} characters")
        role = normalise(self.role)
        if not isinstance(role, str) or role not in ROLES:
            raise InvalidInput(f"unknown role {_shown(self.role)}; roles: {', '.join(ROLES)}")
        agency = normalise(self.agency)
        if role in CLERK_ROLES and agency in (None, ""):
            raise InvalidInput(f"a {role} must name their agency (6-digit division code)")
        if agency is not None:
            agency = check_agency_format(agency, "agency")
        person_id = self.person_id
        if person_id is not None:
            if role != "self":
                raise InvalidInput("only an actor acting for themselves (role self) gives a person_id")
            person_id = check_person_id(person_id)
        for name, value in (("id", actor_id), ("role", role), ("agency", agency),
                            ("person_id", person_id)):
            object.__setattr__(self, name, value)

    def describe(self) -> str:
        return f"{self.role} {self.id}" + (f" of agency {self.agency}" if self.agency else "")


def check_agency_format(code: object, what: str) -> str:
    """Six ASCII digits once normalised (``'３１００００'`` and ``' 310000\\n'`` are ``'310000'``)."""
    text = normalise(code)
    if not isinstance(text, str) or not _AGENCY.fullmatch(text):
        raise InvalidInput(
            f"{what} must be a 6-digit administrative division code (GB/T 2260) such as "
            f"'440300', not {_shown(code)}"
        )
    return text


def check_agency(code: object, what: str, divisions: Divisions = STANDARD) -> str:
    """A GB/T 2260 division code in use (province, prefecture or county), or one of the extra
    divisions newer than the list; normalised."""
    text = check_agency_format(code, what)
    if text not in divisions:
        raise InvalidInput(
            f"{what} {text} is not a GB/T 2260 division code in use; a code newer than the list "
            "goes in definitions/divisions_extra.yaml (or Engine(extra_divisions=...))"
        )
    return text


def check_actor(actor: object, divisions: Divisions = STANDARD) -> Actor:
    """An :class:`Actor` whose agency, if any, is a known division."""
    if not isinstance(actor, Actor):
        raise InvalidInput(f"actor must be an Actor(id, role, agency), not {type(actor).__name__}")
    if actor.agency is not None:
        check_agency(actor.agency, f"the agency of {actor.role} {actor.id}", divisions)
    return actor


def check_person_id(person_id: object, today: dt.date | None = None) -> str:
    """An 18-character resident ID number (GB 11643): length, digits, check digit, birth date
    (a real date, not after ``today``) and birth place, as ``stdnum.cn.ric.validate`` checks
    them. Full-width digits and padding are normalised away; a lower-case x is upper-cased.

    The birth-place look-up (the slow part of ``validate``) is remembered per place code and
    birth year, which is all it depends on, so bulk imports stay fast.
    """
    if not isinstance(person_id, str):
        raise InvalidInput("person_id must be the 18-character resident ID number, as text")
    try:
        number = str(normalise(person_id)).upper()
        if len(number) != 18:  # separators and the like: let stdnum clean it
            number = ric.compact(number)
        if len(number) != 18:
            raise ric.InvalidLength()
        if not number[:-1].isascii() or not isdigits(number[:-1]):
            raise ric.InvalidFormat()
        if number[-1] != ric.calc_check_digit(number):
            raise ric.InvalidChecksum()
        try:  # ric.get_birth_date, without cleaning the number a second time
            birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
        except ValueError:
            raise ric.InvalidComponent() from None
        if birth > (today or _china_today()):
            raise InvalidInput("person_id is not a valid resident ID number: "
                               "its birth date is in the future")
        if not _known_birth_place(number[:6], number[6:10]):
            raise ric.InvalidComponent()
        return number
    except stdnum_errors.ValidationError as exc:
        # The number itself is never echoed back: error texts end up in logs. (python-stdnum's
        # exceptions all set ``message``, but its ValidationError base does not declare it.)
        raise InvalidInput(f"person_id is not a valid resident ID number: {exc.message}") from None  # type: ignore[attr-defined]


def _china_today() -> dt.date:
    return dt.datetime.now(CHINA).date()


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
        raise InvalidInput(f"{what} must be a business date (datetime.date), not {_shown(value)}")
    return value


def parse_amount(value: object) -> Decimal:
    """Money is exact: a Decimal, an int or a decimal string (``'12345.67'``, full-width digits
    and padding allowed; not ``'1e3'`` or ``'12,345'``); never a float. At most 2 decimal
    places and at most :data:`MAX_AMOUNT` yuan (what the database column holds)."""
    if isinstance(value, (bool, float)):
        raise InvalidInput(
            "amount must be exact: pass a Decimal, an int or a string such as '12345.67', "
            "not a float"
        )
    amount: Decimal | None = None
    if isinstance(value, str):
        text = normalise(value)
        if _MONEY.fullmatch(text) and len(text) <= 40:
            amount = Decimal(text)
    elif isinstance(value, int):
        # Clamped first: a huge int is refused below (by sign or size) without converting it.
        amount = Decimal(max(-1, min(value, 10 ** 30)))
    elif isinstance(value, Decimal) and value.is_finite():
        amount = value
    if amount is None:
        raise InvalidInput(f"amount must be a sum of money in yuan such as '12345.67', "
                           f"not {_shown(value)}")
    if amount < 0:
        raise InvalidInput(f"amount cannot be negative ({_shown(value)})")
    if amount > MAX_AMOUNT:
        raise InvalidInput(f"amount is more than the largest sum stored ({MAX_AMOUNT} yuan)")
    if amount != amount.quantize(Decimal("0.01")):
        raise InvalidInput(f"amount has more than 2 decimal places ({_shown(value)})")
    return amount.quantize(Decimal("0.01"))


def check_months(value: object) -> int:
    """Cumulative contribution months: a whole number from 0 to :data:`MAX_MONTHS`."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_MONTHS:
        raise InvalidInput(
            f"contribution_months must be a whole number of months from 0 to {MAX_MONTHS} "
            f"(60 years of working life), not {_shown(value)}"
        )
    return value


def check_kinds(documents: object, what: str = "documents") -> list[str]:
    """A list of document kinds (text, normalised); not a single string."""
    if isinstance(documents, (str, bytes, Mapping)) or not isinstance(documents, Iterable):
        raise InvalidInput(f"{what} must be a list of document kinds")
    kinds = [normalise(k) for k in documents]
    if not all(isinstance(k, str) and _is_code(k) for k in kinds):
        raise InvalidInput(f"{what} must be a list of document kinds such as 'id_card'")
    return kinds


def _is_code(text: str) -> bool:
    """Short printable text, safe to repeat in an error (a name of the definitions)."""
    return 0 < len(text) <= 64 and text.isprintable()


def _check_input(name: str, value: Any, kinds: Iterable[str]) -> Any:
    if name == "explanation":
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput("a rejection needs a written explanation (non-empty text)")
        return check_text(value, "the explanation", TEXT_MAX, lines=True)
    if name == "documents_needed":
        if value is None or (not isinstance(value, str) and not value):
            raise InvalidInput("documents_needed must name at least one document kind")
        needed = check_kinds(value, "documents_needed")
        if not needed:
            raise InvalidInput("documents_needed must name at least one document kind")
        known = set(kinds)
        unknown = [k for k in needed if k not in known]
        if unknown:
            raise InvalidInput(f"unknown document kind(s) needed: {', '.join(unknown)}")
        return list(dict.fromkeys(needed))
    if name == "amount":
        return str(parse_amount(value))
    if name == "contribution_months":
        return check_months(value)
    raise AssertionError(name)  # pragma: no cover - definitions are validated against INPUTS


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

    @classmethod
    def of(cls, case: Any) -> CaseFacts:
        """The facts of a stored case row or a :class:`~workflow.core.views.Case` view."""
        return cls(case.id, case.state, case.origin, case.destination, case.applicant,
                   case.channel, frozenset(case.documents), tuple(case.requested_documents),
                   case.applicant_id, case.person_id)


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


def is_applicant(actor: Actor, facts: CaseFacts) -> bool:
    """The very applicant of the case: for ``self``, the person with the case's ID number;
    for an employer or agent, the actor who opened the case."""
    if actor.role != facts.applicant:
        return False
    if actor.role == "self":
        return actor.person_id is not None and actor.person_id == facts.person_id
    return facts.applicant_id is not None and actor.id == facts.applicant_id


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
                origin: object, destination: object, applicant: object, channel: object,
                documents: Iterable[str], actor: Actor, divisions: Divisions = STANDARD,
                today: dt.date | None = None, origin_scheme: object = None,
                destination_scheme: object = None) -> dict[str, Any]:
    """Check an application; return the case's normalised fields."""
    actor = check_actor(actor, divisions)
    pid = check_person_id(person_id, today)
    name = check_name(person_name)
    origin = check_agency(origin, "origin", divisions)
    destination = check_agency(destination, "destination", divisions)
    if origin == destination:
        raise InvalidInput(f"origin and destination are the same agency ({origin}): "
                           "a transfer crosses planning areas")
    applicant, channel = normalise(applicant), normalise(channel)
    if applicant not in APPLICANT_KINDS:
        raise InvalidInput(f"applicant must be one of {', '.join(APPLICANT_KINDS)}, "
                           f"not {_shown(applicant)}")
    if channel not in CHANNELS:
        raise InvalidInput(f"channel must be one of {', '.join(CHANNELS)}, not {_shown(channel)}")
    docs = definition.catalogue.check(check_kinds(documents))
    schemes = _check_schemes(definition, origin_scheme, destination_scheme)
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
        "scope": scope_of(origin, destination), "documents": docs,
        "spans_started": definition.spans_started_by(OPEN_EVENT, applicant),
    }


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
                               f"not {_shown(value)}")
    return given


def decide_attach(definition: Definition, facts: CaseFacts, actor: Actor,
                  documents: Iterable[str], divisions: Divisions = STANDARD) -> Step:
    """Documents added to a running case by its applicant or a clerk of either agency."""
    actor = check_actor(actor, divisions)
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
    conditions are the methods below, named in :data:`~workflow.core.definitions.CONDITIONS`;
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
                               may_act=_may_act(spec.roles, facts))
        self.acts = _acts_as(spec.roles, actor, facts)
        if self.acts is None:
            raise NotPermitted(f"'{spec.trigger}' on case {facts.id} may be fired by "
                               f"{_who_may(spec.roles, facts)}; {actor.describe()} may not",
                               may_act=_may_act(spec.roles, facts))

    @_condition
    def inputs_valid(self, spec: TransitionSpec) -> None:
        extra = sorted(set(self.inputs) - set(spec.inputs))
        if extra:
            raise InvalidInput(f"'{spec.trigger}' takes no {', '.join(extra)}")
        kinds = self.definition.catalogue.kinds
        for name in spec.inputs:
            if name not in self.inputs:
                raise InvalidInput(f"'{spec.trigger}' needs {name}: {INPUTS[name]}")
            self.checked[name] = _check_input(name, self.inputs[name], kinds)
        self.supplied = self.definition.catalogue.check(check_kinds(self.documents))
        self.held.update(self.supplied)

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
    model is added to it: it is shared, read-only, by every case and thread.
    """
    actor = check_actor(actor, divisions)
    inputs = {k: v for k, v in (inputs or {}).items() if v is not None}
    trigger = normalise(trigger)
    machine = definition.machine
    event = machine.events.get(trigger) if isinstance(trigger, str) else None
    if event is None:
        raise InvalidInput(f"{_shown(trigger)} is not a trigger of {definition.name}; triggers: "
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
        raise attempt.refusal or NotPermitted(f"'{trigger}' was refused on case {facts.id}")

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
        spans_started=() if final else definition.spans_started_by(trigger, facts.applicant),
    )


__all__ = [
    "CHINA",
    "MAX_AMOUNT",
    "MAX_MONTHS",
    "NAME_MAX",
    "Actor",
    "CaseFacts",
    "Step",
    "check_actor",
    "check_agency",
    "check_date",
    "check_kinds",
    "check_months",
    "check_name",
    "check_person_id",
    "check_text",
    "decide",
    "decide_attach",
    "decide_open",
    "documents_needed",
    "is_applicant",
    "mask_person_id",
    "normalise",
    "parse_amount",
    "parse_date",
    "scope_of",
]
