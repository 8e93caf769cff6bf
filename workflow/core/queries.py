"""Query objects: what a reader asks for, validated once, narrowed to what they may see.

An interface (CLI, API, page) builds one from what the user typed; the principal's desk
narrows it to the principal's scope (:func:`workflow.core.access.scope`); the store executes
it. No filter list is written twice: a new filter is a field here, read by the store.

Every query is frozen; :meth:`narrowed` returns a copy with the scope's fields set. The scope
fields (``agencies``, ``province``, ``applicant``, ...) are added to the caller's filters, so a
scope never widens what the caller asked for.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from ..errors import InvalidInput
from .alerts import ALERT_LEVELS
from .inputs import check_agency_format, check_date, normalise, parse_public_number

#: The two insurances a case can be about.
INSURANCES = ("pension", "medical")
#: A scope that matches nothing (a reader with no cases of their own).
NOBODY = "-"
#: What a case list may be sorted by (``sort="field"`` ascending, ``"-field"`` descending;
#: the case number breaks ties). ``due_on``: the soonest due date of the case's running spans
#: (the committed one where there is one; cases with none last).
CASE_SORTS = ("id", "public_number", "person_name", "insurance", "state", "origin",
              "destination", "opened_on", "last_event_on", "due_on")
#: The fewest trailing characters of an ID number a search takes (fewer would match too many
#: people to be a search for one).
ID_ENDING_MIN = 4


def _page(limit: object, offset: object, *, need_limit: bool = False) -> None:
    for name, number in (("limit", limit), ("offset", offset)):
        if number is None and (name == "offset" or not need_limit):
            continue
        if isinstance(number, bool) or not isinstance(number, int) or number < 0:
            raise InvalidInput(f"{name} must be a whole number >= 0, not {number!r}")


def _province(value: object) -> str | None:
    value = normalise(value)
    if value is None:
        return None
    if not (isinstance(value, str) and len(value) == 2 and value.isdigit()):
        raise InvalidInput(f"a province is the 2-digit start of its division codes, "
                           f"not {value!r}")
    return value


def _agencies(values: object) -> tuple[str, ...] | None:
    if values is None:
        return None
    if isinstance(values, str):
        values = (values,)
    if not isinstance(values, (list, tuple, frozenset, set)):
        raise InvalidInput("agencies must be a list of 6-digit division codes")
    return tuple(check_agency_format(v, "agency") for v in values)


def _insurances(values: object) -> tuple[str, ...] | None:
    if values is None:
        return None
    if isinstance(values, str):
        values = (values,)
    if not isinstance(values, (list, tuple, frozenset, set)) or not set(values) <= set(
            INSURANCES):
        raise InvalidInput(f"insurances must be a list of {', '.join(INSURANCES)}")
    return tuple(v for v in INSURANCES if v in values)


class _Query:
    """What every query does: validated at construction, narrowed by a scope."""

    def narrowed(self, **scope: Any) -> Any:
        """A copy limited to ``scope`` (fields of this query), never wider than before."""
        return dataclasses.replace(self, **scope)  # type: ignore[type-var]


def _id_ending(value: object) -> str | None:
    value = normalise(value)
    if value is None:
        return None
    text = str(value).upper()
    body, last = text[:-1], text[-1:]
    if not (ID_ENDING_MIN <= len(text) <= 18 and body.isascii() and (body.isdigit() or not body)
            and (last.isdigit() or last == "X")):
        # The value is never repeated: it is (part of) a person's ID number.
        raise InvalidInput(f"person_id_ending must be the last {ID_ENDING_MIN} to 18 "
                           f"characters of an ID number (digits, the last may be X)",
                           field="person_id_ending", reason="not_an_id_ending")
    return text


def _sort(value: object) -> str:
    text = normalise(value) or "id"
    if not isinstance(text, str) or text.removeprefix("-") not in CASE_SORTS:
        raise InvalidInput(f"sort must be one of {', '.join(CASE_SORTS)} (a leading - sorts "
                           f"descending), not {value!r}", field="sort", reason="not_a_choice")
    return text


@dataclasses.dataclass(frozen=True)
class CaseQuery(_Query):
    """Cases in id order (or by ``sort``); ``agency`` matches either the origin or the
    destination.

    ``insurance``: ``pension`` or ``medical``. ``overdue_on``: only cases with a span
    running on that day past its due date (the committed one where there is one).
    The search's filters: ``public_number`` (the case number people read), ``person_id_ending``
    (the whole ID number or its last characters, at least :data:`ID_ENDING_MIN`),
    ``person_name`` (part of the name), ``level`` (a running span's stored alert of that
    level), ``due_from``/``due_to`` (a running span due in that range, both days included).
    ``sort``: one of :data:`CASE_SORTS`, ``-`` first for descending.
    ``limit``/``offset``: one page. The scope (set by a desk, or by a trusted caller):
    ``agencies`` (origin or destination one of them), ``province`` (2-digit prefix of
    either), ``applicant``/``applicant_id``/``person_id`` (the applicant's own cases).
    """

    state: str | None = None
    agency: str | None = None
    definition: str | None = None
    insurance: str | None = None
    overdue_on: dt.date | None = None
    public_number: str | None = None
    person_id_ending: str | None = dataclasses.field(default=None, repr=False)
    person_name: str | None = None
    level: str | None = None
    due_from: dt.date | None = None
    due_to: dt.date | None = None
    sort: str = "id"
    limit: int | None = None
    offset: int = 0
    agencies: tuple[str, ...] | None = None
    province: str | None = None
    applicant: str | None = None
    applicant_id: str | None = None
    person_id: str | None = dataclasses.field(default=None, repr=False)
    #: A department's scope: only cases of these insurances (None: any).
    insurances: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "insurances", _insurances(self.insurances))
        for name in ("state", "definition", "insurance", "applicant", "applicant_id",
                     "person_id"):
            set_(self, name, normalise(getattr(self, name)))
        if self.agency is not None:
            set_(self, "agency", normalise(self.agency))
        for name in ("overdue_on", "due_from", "due_to"):
            if getattr(self, name) is not None:
                check_date(getattr(self, name), name)
        if self.public_number is not None:
            number = parse_public_number(self.public_number)
            if number is None:
                raise InvalidInput(f"public_number must be a case number of 20 digits with its "
                                   f"check digit, not {self.public_number!r}",
                                   field="public_number", reason="not_a_case_number")
            set_(self, "public_number", number)
        set_(self, "person_id_ending", _id_ending(self.person_id_ending))
        set_(self, "person_name", normalise(self.person_name) or None)
        set_(self, "level", normalise(self.level))
        if self.level is not None and self.level not in ALERT_LEVELS:
            raise InvalidInput(f"level must be one of {', '.join(ALERT_LEVELS)}, "
                               f"not {self.level!r}", field="level", reason="not_a_choice")
        if self.insurance is not None and self.insurance not in INSURANCES:
            raise InvalidInput(f"insurance must be one of {', '.join(INSURANCES)}, "
                               f"not {self.insurance!r}", field="insurance",
                               reason="not_a_choice")
        set_(self, "sort", _sort(self.sort))
        _page(self.limit, self.offset)
        set_(self, "agencies", _agencies(self.agencies))
        set_(self, "province", _province(self.province))


@dataclasses.dataclass(frozen=True)
class AlertQuery(_Query):
    """Stored alerts, oldest first (or ``newest_first``).

    ``agency``: the alerts of spans that agency owns; ``province``: of the agencies of that
    province (2 digits); ``run_id``: those one scan raised. ``applicant``/``applicant_id``/
    ``person_id``: only the alerts of that applicant's own cases (the scope of an applicant).
    ``resolved``: False, only open alerts; True, only resolved ones; None (default), both.
    """

    level: str | None = None
    agency: str | None = None
    case_id: int | None = None
    as_of: dt.date | None = None
    run_id: int | None = None
    limit: int | None = None
    province: str | None = None
    newest_first: bool = False
    resolved: bool | None = None
    applicant: str | None = None
    applicant_id: str | None = None
    person_id: str | None = dataclasses.field(default=None, repr=False)
    #: A department's scope: only alerts of cases of these insurances (None: any).
    insurances: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "insurances", _insurances(self.insurances))
        for name in ("level", "agency", "applicant", "applicant_id", "person_id"):
            set_(self, name, normalise(getattr(self, name)))
        if self.as_of is not None:
            check_date(self.as_of, "as_of")
        _page(self.limit, None)
        set_(self, "province", _province(self.province))


@dataclasses.dataclass(frozen=True)
class InboxQuery(_Query):
    """The running spans owned by ``agencies`` (or by the agencies of a 2-digit
    ``province``), soonest due first (by the committed due date where there is one), each
    classified as the scan would on ``as_of``. ``by_agency``: grouped by the owning agency
    first (in code order), soonest due first within each, with each agency's count."""

    as_of: dt.date
    agencies: tuple[str, ...] | None = None
    province: str | None = None
    limit: int = 100
    offset: int = 0
    by_agency: bool = False
    #: A department's scope: only spans of cases of these insurances (None: any).
    insurances: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        check_date(self.as_of, "as_of")
        object.__setattr__(self, "insurances", _insurances(self.insurances))
        _page(self.limit, self.offset, need_limit=True)
        object.__setattr__(self, "agencies", _agencies(self.agencies))
        object.__setattr__(self, "province", _province(self.province))


__all__ = ["CASE_SORTS", "ID_ENDING_MIN", "INSURANCES", "NOBODY", "AlertQuery", "CaseQuery", "InboxQuery"]
