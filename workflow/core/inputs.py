"""What a user typed, checked and normalised: codes, names, dates, ID numbers, sums of money,
document kinds, a trigger's inputs and the actor who fires it.

No I/O. Every function either returns the value as the engine stores and compares it, or
raises :class:`~workflow.errors.InvalidInput` saying what was wrong, never echoing a value
that may be an ID number. The API, the CLI and CSV import all go through here; the rules
(:mod:`workflow.core.rules`) decide on what comes out.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from stdnum import exceptions as stdnum_errors
from stdnum.cn import ric
from stdnum.iso7064 import mod_11_10
from stdnum.util import isdigits

from ..errors import InvalidInput
from .divisions import STANDARD, Divisions
from .schema import CLERK_ROLES, ROLES

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
                      "destination_scheme", "contact_phone", "contact_email",
                      "receiving_employer", "agent_name", "agent_id_number")
OPTIONAL_APPLICATION_FIELDS = ("on", "channel", "documents", "origin_scheme", "destination_scheme",
                               "contact_phone", "contact_email", "receiving_employer",
                               "agent_name", "agent_id_number",
                               "origin")  # none for a service of one agency
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


def shown(value: object) -> str:
    """A refused value as an error repeats it: quoted only when short (a long one may be an
    ID number)."""
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
    raise InvalidInput(f"{what} must be a date as YYYY-MM-DD, not {shown(value)}",
                       field=what if what.isidentifier() else None, reason="not_a_date")


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
    #: A clerk's or supervisor's department(s) (seed 000: pension and medical transfers are
    #: handled by "two different departments"): the insurances they act on. None: both.
    departments: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        actor_id = normalise(self.id)
        if not isinstance(actor_id, str) or not actor_id:
            raise InvalidInput("an actor needs a non-empty id")
        if len(actor_id) > ID_MAX or not actor_id.isprintable():
            raise InvalidInput(f"an actor id is printable text of at most {ID_MAX} characters")
        role = normalise(self.role)
        if not isinstance(role, str) or role not in ROLES:
            raise InvalidInput(f"unknown role {shown(self.role)}; roles: {', '.join(ROLES)}")
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
        departments = check_departments(self.departments)
        for name, value in (("id", actor_id), ("role", role), ("agency", agency),
                            ("person_id", person_id), ("departments", departments)):
            object.__setattr__(self, name, value)

    def describe(self) -> str:
        return f"{self.role} {self.id}" + (f" of agency {self.agency}" if self.agency else "")


#: The departments of an agency, by the insurance each handles (seed 000: "the transfer of
#: pension insurance relationship is handled by social security bureau, and the transfer of
#: medical insurance relationship is handled by medical insurance bureau").
DEPARTMENTS = ("pension", "medical")


def check_departments(values: object) -> tuple[str, ...] | None:
    """Departments as given (``pension``, ``medical``, a list of them, or ``both``), in their
    order; None stays None (not limited)."""
    if values is None:
        return None
    if isinstance(values, str):
        values = DEPARTMENTS if normalise(values) == "both" else (values,)
    if not isinstance(values, (list, tuple, set, frozenset)) or not values:
        raise InvalidInput(f"departments must be pension, medical or both, not {shown(values)}")
    named = {normalise(v) for v in values}
    if "both" in named:
        named = (named - {"both"}) | set(DEPARTMENTS)
    if not named <= set(DEPARTMENTS):
        raise InvalidInput(f"a department is pension or medical (both for a supervisor "
                           f"granted both), not {shown(values)}")
    return tuple(d for d in DEPARTMENTS if d in named)


def check_agency_format(code: object, what: str) -> str:
    """Six ASCII digits once normalised (``'３１００００'`` and ``' 310000\\n'`` are ``'310000'``)."""
    text = normalise(code)
    if not isinstance(text, str) or not _AGENCY.fullmatch(text):
        raise InvalidInput(
            f"{what} must be a 6-digit administrative division code (GB/T 2260) such as "
            f"'440300', not {shown(code)}",
            field=what if what.isidentifier() else None, reason="not_a_division_code"
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
    # A code of the list as it is written (six ASCII digits) needs no normalising first.
    if actor.agency is not None and actor.agency not in divisions:
        check_agency(actor.agency, f"the agency of {actor.role} {actor.id}", divisions)
    return actor


def birth_date(person_id: str) -> dt.date:
    """The birth date a checked ID number carries (its characters 7 to 14)."""
    return dt.date(int(person_id[6:10]), int(person_id[10:12]), int(person_id[12:14]))


def check_person_id(person_id: object, on: dt.date | None = None) -> str:
    """An 18-character resident ID number (GB 11643): length, digits, check digit, birth date
    (a real date, not after ``on``, by default :func:`today`) and birth place, as
    ``stdnum.cn.ric.validate`` checks them. Full-width digits and padding are normalised away;
    a lower-case x is upper-cased.

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
        if birth > (on or today()):
            raise InvalidInput("person_id is not a valid resident ID number: "
                               "its birth date is in the future")
        if not _known_birth_place(number[:6], number[6:10]):
            raise ric.InvalidComponent()
        return number
    except stdnum_errors.ValidationError as exc:
        # The number itself is never echoed back: error texts end up in logs. (python-stdnum's
        # exceptions all set ``message``, but its ValidationError base does not declare it.)
        raise InvalidInput(f"person_id is not a valid resident ID number: {exc.message}") from None  # type: ignore[attr-defined]


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


#: A public case number (业务流水号): 19 random digits and an ISO 7064 MOD 11,10 check digit
#: (so many that two cases drawing the same one is as good as impossible).
PUBLIC_NUMBER_DIGITS = 20
_PUBLIC_SPACE = 10 ** (PUBLIC_NUMBER_DIGITS - 1)


def public_number_from(random: int) -> str:
    """The public case number made of ``random`` (0 <= random < 10**19), a check digit added:
    what the insured person types on the progress page and reads on the papers. Not a count,
    so it tells nothing of other cases and cannot be guessed; a typo fails the check."""
    if not 0 <= random < _PUBLIC_SPACE:
        raise ValueError(random)
    body = f"{random:0{PUBLIC_NUMBER_DIGITS - 1}d}"
    return body + mod_11_10.calc_check_digit(body)


def parse_public_number(text: object) -> str | None:
    """The public case number typed (full-width digits, spaces and hyphens allowed), or None
    when it is not one (wrong length, not digits, a wrong check digit)."""
    if not isinstance(text, str) or len(text) > 64:
        return None
    value = str(normalise(text)).replace(" ", "").replace("-", "")
    if len(value) != PUBLIC_NUMBER_DIGITS or not value.isascii() or not value.isdigit():
        return None
    return value if mod_11_10.is_valid(value) else None


def check_date(value: object, what: str = "on") -> dt.date:
    """A business date given as a :class:`datetime.date` (not a datetime, not text)."""
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise InvalidInput(f"{what} must be a business date (datetime.date), not {shown(value)}")
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
                           f"not {shown(value)}")
    if amount < 0:
        raise InvalidInput(f"amount cannot be negative ({shown(value)})")
    if amount > MAX_AMOUNT:
        raise InvalidInput(f"amount is more than the largest sum stored ({MAX_AMOUNT} yuan)")
    if amount != amount.quantize(Decimal("0.01")):
        raise InvalidInput(f"amount has more than 2 decimal places ({shown(value)})")
    return amount.quantize(Decimal("0.01"))


def check_months(value: object, what: str = "contribution_months") -> int:
    """Contribution months: a whole number from 0 to :data:`MAX_MONTHS`."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_MONTHS:
        raise InvalidInput(
            f"{what} must be a whole number of months from 0 to {MAX_MONTHS} "
            f"(60 years of working life), not {shown(value)}"
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


def check_trigger_input(name: str, value: Any, kinds: Iterable[str]) -> Any:
    """One input of a trigger (a name of :data:`~workflow.core.schema.INPUTS`), as the
    case's history stores it (JSON-safe); ``kinds``: the document kinds of the catalogue."""
    if name == "explanation":
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput("a rejection needs a written explanation (non-empty text)",
                               field="explanation", reason="needed")
        return check_text(value, "the explanation", TEXT_MAX, lines=True)
    if name == "documents_needed":
        if value is None or (not isinstance(value, str) and not value):
            raise InvalidInput("documents_needed must name at least one document kind",
                               field="documents_needed", reason="needed")
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
    if name in ("contribution_months", "months_at_destination"):
        return check_months(value, name)
    raise AssertionError(name)  # pragma: no cover - definitions are validated against INPUTS


__all__ = [
    "APPLICATION_FIELDS",
    "CHINA",
    "DEPARTMENTS",
    "MAX_AMOUNT",
    "MAX_MONTHS",
    "NAME_DOTS",
    "NAME_MAX",
    "OPTIONAL_APPLICATION_FIELDS",
    "PUBLIC_NUMBER_DIGITS",
    "TEXT_MAX",
    "Actor",
    "check_actor",
    "check_agency",
    "check_agency_format",
    "check_date",
    "check_departments",
    "check_kinds",
    "check_months",
    "check_name",
    "check_person_id",
    "check_text",
    "check_trigger_input",
    "mask_person_id",
    "normalise",
    "parse_amount",
    "parse_date",
    "parse_public_number",
    "public_number_from",
    "shown",
    "today",
]
