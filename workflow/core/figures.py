"""Report figures from rows (pure): aging buckets, overdue lines, agency summaries and the
built overdue report the renderers write."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Iterator

from .calendar import WorkingDays
from .divisions import name_of
from .words import LANGUAGES

BUCKETS = ("1–5", "6–10", "11–15", "over 15")


def bucket(late: int) -> str:
    """The aging bucket of a number of working days late (0 counts with 1–5)."""
    return BUCKETS[0] if late <= 5 else BUCKETS[1] if late <= 10 else BUCKETS[2] \
        if late <= 15 else BUCKETS[3]


@dataclasses.dataclass(frozen=True, slots=True)
class OverdueLine:
    agency: str
    case_id: int
    insurance: str
    person_name: str
    person_id_masked: str
    span: str
    owner: str
    started_on: dt.date
    committed_due_on: dt.date | None  # the agency's own shorter limit, where it has one
    due_on: dt.date  # statutory
    working_days_late: int  # after the committed due date where there is one
    level: str
    statutory_breach: bool  # past the statutory due date too
    provisional: bool
    definition: str = ""  # the case's definition and version: where the span's titles are
    definition_version: int = 0


@dataclasses.dataclass
class AgencySummary:
    agency: str
    buckets: dict[str, int] = dataclasses.field(default_factory=lambda: dict.fromkeys(BUCKETS, 0))
    overdue: int = 0
    escalated: int = 0
    statutory_breaches: int = 0
    closed: int = 0
    closed_on_time: int = 0
    closed_within_statute: int = 0

    @property
    def on_time_rate(self) -> float | None:
        """Share of spans closed in the period that closed on or before their due date (the
        committed one where the agency has one)."""
        return self.closed_on_time / self.closed if self.closed else None


def summarise(overdue: Iterable[tuple[str, dt.date, dt.date]],
              closed: Iterable[tuple[str, int, int, int]], as_of: dt.date,
              calendar: WorkingDays, escalate_after_days: int) -> dict[str, AgencySummary]:
    """Each agency's figures, by agency code: its overdue spans on ``as_of`` ((agency, date
    judged by, statutory due date) each) by aging bucket, escalated and past the statutory
    limit; and the spans it closed in the period ((agency, closed, on time, within the
    statutory limit) per agency)."""
    agencies: dict[str, AgencySummary] = {}

    def summary(agency: str) -> AgencySummary:
        if agency not in agencies:
            agencies[agency] = AgencySummary(agency)
        return agencies[agency]

    for agency, judged_by, statutory in overdue:
        late = calendar.for_agency(agency).working_days_between(judged_by, as_of)
        s = summary(agency)
        s.buckets[bucket(late)] += 1
        s.overdue += 1
        s.escalated += late >= escalate_after_days
        s.statutory_breaches += statutory < as_of
    for agency, n, on_time, within_statute in closed:
        s = summary(agency)
        s.closed, s.closed_on_time, s.closed_within_statute = n, on_time, within_statute
    return dict(sorted(agencies.items()))


@dataclasses.dataclass
class OverdueReport:
    """The summary figures, and the detail lines streamed from the database on demand."""

    as_of: dt.date
    period_start: dt.date
    escalate_after_days: int
    agencies: dict[str, AgencySummary]
    total: int  # overdue spans
    _lines: Callable[[], Iterator[OverdueLine]] = dataclasses.field(repr=False)
    #: The language the report is written in unless ``write_report`` is told otherwise.
    language: str = LANGUAGES[0]
    #: A span's title in a language, from the definition its case runs on.
    span_title: Callable[[OverdueLine, str], str] = dataclasses.field(
        default=lambda line, lang: line.span, repr=False)
    #: An agency's name from its division code (None: unknown).
    agency_name: Callable[[str], str | None] = dataclasses.field(default=name_of, repr=False)
    #: The unit issuing the report (制表单位): ``[reports] issuer``, else the agency or the
    #: province the report covers; empty for a report of everything without a named issuer.
    issuer: str = ""

    def lines(self) -> Iterator[OverdueLine]:
        """Every overdue span by agency, most working days late first (streamed)."""
        return self._lines()


__all__ = ["BUCKETS", "AgencySummary", "OverdueLine", "OverdueReport", "bucket", "summarise"]
