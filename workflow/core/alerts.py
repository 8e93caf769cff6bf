"""Alert classification: which alert levels a running span is at on a day (pure)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Protocol

from .calendar import WorkingDays
from .schema import TRANSIT_SUFFIX

#: A paper sent but not recorded as received within its transit span (a paper exchange).
IN_TRANSIT = "in_transit"
LEVELS = ("due_soon", "overdue", "escalated", "statutory_breach", IN_TRANSIT)
#: A span judged by its committed due date that has also passed its statutory one.
STATUTORY_BREACH = "statutory_breach"
#: Pension continued while the same person's medical insurance is not (异地登记 advisory).
ADVISORY = "different_place_registration"
#: Why an alert was resolved: its span ended (the step that ended it resolved it that day)...
SPAN_ENDED = "span_ended"
#: ... or its span's due date moved (a corrected business date, a recomputed calendar) and
#: the next scan found it stale: it raises the alert again if the span is still at the level.
DUE_DATE_MOVED = "due_date_moved"
#: Every level a scan counts: the span levels, then advisories.
ALERT_LEVELS = (*LEVELS, "advisory")


class Thresholds(Protocol):
    """When a span is due soon, and when overdue becomes escalated (``Settings`` has both)."""

    @property
    def due_soon_days(self) -> int: ...

    @property
    def escalate_after_days(self) -> int: ...


def classify(due_on: dt.date, as_of: dt.date, calendar: WorkingDays,
             thresholds: Thresholds, statutory_on: dt.date | None = None) -> list[tuple[str, int]]:
    """The alert levels a running span is at on ``as_of``, each with working days late.

    ``due_on`` is the date the span is judged by: the committed due date where the agency has
    one, else the statutory one. With a committed date, pass the statutory date as
    ``statutory_on``: once that is passed too, the span is also at ``statutory_breach``.
    """
    if due_on >= as_of:
        left = calendar.working_days_between(as_of, due_on)
        return [("due_soon", -left)] if left <= thresholds.due_soon_days else []
    late = calendar.working_days_between(due_on, as_of)
    levels = [("overdue", late)]
    if late >= thresholds.escalate_after_days:
        levels.append(("escalated", late))
    if statutory_on is not None and statutory_on < as_of:
        levels.append((STATUTORY_BREACH, calendar.working_days_between(statutory_on, as_of)))
    return levels


def span_levels(due_on: dt.date, committed_due_on: dt.date | None, as_of: dt.date,
                calendar: WorkingDays, thresholds: Thresholds,
                name: str = "") -> list[tuple[str, int]]:
    """The levels of a span judged by its committed due date where it has one (and then also
    checked against its statutory ``due_on``), else by its statutory one. A transit span
    (``name`` ends with ``_in_transit``: a paper not yet recorded as received) is at one level
    only, ``in_transit``, from the day after its last day in transit."""
    if name.endswith(TRANSIT_SUFFIX):
        if due_on >= as_of:
            return []
        return [(IN_TRANSIT, calendar.working_days_between(due_on, as_of))]
    if committed_due_on is None:
        return classify(due_on, as_of, calendar, thresholds)
    return classify(committed_due_on, as_of, calendar, thresholds, statutory_on=due_on)


def judged_due_on(level: str, due_on: dt.date, committed_due_on: dt.date | None) -> dt.date:
    """The due date an alert of ``level`` names: the statutory one for a breach of it, else
    the committed one where there is one."""
    return due_on if level == STATUTORY_BREACH else committed_due_on or due_on


def scan_horizon(as_of: dt.date, calendar: WorkingDays, due_soon_days: int) -> dt.date:
    """The latest due date a scan as of ``as_of`` looks at (refuses a date off the calendar):
    the furthest day a span may be due soon from, on the national or a regional calendar."""
    calendar.is_working_day(as_of)
    if not due_soon_days:
        return as_of
    regional = [calendar.for_agency(f"{p}0000") for p in calendar.regional]
    return max(c.add_working_days(as_of, due_soon_days) for c in [calendar, *regional])


def last_occurrence(now: dt.datetime, at: dt.time, days: Iterable[int] | None,
                    calendar: WorkingDays | None) -> dt.date:
    """The date of the latest scheduled run at or before ``now`` (China time).

    ``days``: allowed weekdays (0 = Monday), or None for every day; with ``calendar``, only
    working days count.
    """
    allowed = set(days) if days is not None else set(range(7))
    day = now.date() if now.timetz().replace(tzinfo=None) >= at else now.date() - dt.timedelta(1)
    for _ in range(400):
        if day.weekday() in allowed and (calendar is None or calendar.is_working_day(day)):
            return day
        day -= dt.timedelta(days=1)
    raise AssertionError("no scheduled day in 400 days")  # pragma: no cover


__all__ = ["ADVISORY", "ALERT_LEVELS", "DUE_DATE_MOVED", "IN_TRANSIT", "LEVELS", "SPAN_ENDED",
           "STATUTORY_BREACH", "Thresholds", "classify", "judged_due_on", "last_occurrence",
           "scan_horizon", "span_levels"]
