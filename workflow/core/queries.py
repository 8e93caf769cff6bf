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
from .inputs import check_agency_format, check_date, normalise

#: The two insurances a case can be about.
INSURANCES = ("pension", "medical")
#: A scope that matches nothing (a reader with no cases of their own).
NOBODY = "-"


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


@dataclasses.dataclass(frozen=True)
class CaseQuery(_Query):
    """Cases in id order; ``agency`` matches either the origin or the destination.

    ``insurance``: ``pension`` or ``medical``. ``overdue_on``: only cases with a span
    running on that day past its due date (the committed one where there is one).
    ``limit``/``offset``: one page. The scope (set by a desk, or by a trusted caller):
    ``agencies`` (origin or destination one of them), ``province`` (2-digit prefix of
    either), ``applicant``/``applicant_id``/``person_id`` (the applicant's own cases).
    """

    state: str | None = None
    agency: str | None = None
    definition: str | None = None
    insurance: str | None = None
    overdue_on: dt.date | None = None
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
        if self.overdue_on is not None:
            check_date(self.overdue_on, "overdue_on")
        _page(self.limit, self.offset)
        set_(self, "agencies", _agencies(self.agencies))
        set_(self, "province", _province(self.province))


@dataclasses.dataclass(frozen=True)
class AlertQuery(_Query):
    """Stored alerts, oldest first (or ``newest_first``).

    ``agency``: the alerts of spans that agency owns; ``province``: of the agencies of that
    province (2 digits); ``run_id``: those one scan raised. ``applicant``/``applicant_id``/
    ``person_id``: only the alerts of that applicant's own cases (the scope of an applicant).
    """

    level: str | None = None
    agency: str | None = None
    case_id: int | None = None
    as_of: dt.date | None = None
    run_id: int | None = None
    limit: int | None = None
    province: str | None = None
    newest_first: bool = False
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
    classified as the scan would on ``as_of``."""

    as_of: dt.date
    agencies: tuple[str, ...] | None = None
    province: str | None = None
    limit: int = 100
    offset: int = 0
    #: A department's scope: only spans of cases of these insurances (None: any).
    insurances: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        check_date(self.as_of, "as_of")
        object.__setattr__(self, "insurances", _insurances(self.insurances))
        _page(self.limit, self.offset, need_limit=True)
        object.__setattr__(self, "agencies", _agencies(self.agencies))
        object.__setattr__(self, "province", _province(self.province))


__all__ = ["INSURANCES", "NOBODY", "AlertQuery", "CaseQuery", "InboxQuery"]
