"""The due dates of a span, as the law and the agency count them (pure: no I/O).

A span's statutory due date comes from its definition's limit (working days, counted under the
definition's receipt policy, or calendar months moved off a rest day by Civil Code art. 203);
where the owner agency has published a shorter committed limit (承诺时限), the span also gets a
committed due date, and alerts judge it by that one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

from .calendar import WorkingDays
from .commitments import CommittedLimits
from .definitions import Definition
from .schema import SpanSpec


@dataclass(frozen=True, slots=True)
class SpanDue:
    due_on: dt.date  # statutory
    provisional: bool
    committed_limit_working_days: int | None
    committed_due_on: dt.date | None
    due_note: str | None
    calendar_fingerprint: str  # the schedules of the years from the start to the due date

    def columns(self) -> dict[str, object]:
        """The span columns these fields are stored in (same names)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def span_due(calendar: WorkingDays, definition: Definition, spec: SpanSpec,
             started_on: dt.date, owner_agency: str, commitments: CommittedLimits | None,
             committed_limit: int | None = None) -> SpanDue:
    """Both due dates of a span of ``definition`` started on ``started_on``.

    The committed limit is looked up in ``commitments``; pass None there and the limit as
    ``committed_limit`` to recompute a span with the commitment it was opened under.

    A ``committed_only`` span (no statutory limit) is due when its committed limit ends: that
    date is its one due date (``due_on``; ``committed_due_on`` stays None, so it is judged
    by it and never as a statutory breach), its limit kept as the committed limit.
    """
    if spec.limit_months is not None:
        due = calendar.due_in_months(started_on, spec.limit_months)
        return SpanDue(due.on, due.provisional, None, None, due.note,
                       calendar.fingerprint(started_on, due.on))
    policy = definition.receipt_policy
    if spec.committed_only:  # the committed limit is its only limit: its due date
        limit = committed_limit if commitments is None \
            else commitments.limit(definition, spec, owner_agency)
        if limit is None:
            raise ValueError(f"span {spec.name} of {owner_agency} has no committed limit")
        due = calendar.due(started_on, limit, policy)
        note = "; ".join(filter(None, (
            f"committed limit of {limit} working days (承诺时限); no statutory limit", due.note)))
        return SpanDue(due.on, due.provisional, limit, None, note,
                       calendar.fingerprint(started_on, due.on))
    assert spec.limit_working_days is not None  # a span has exactly one of the two limits
    due = calendar.due(started_on, spec.limit_working_days, policy)
    committed = committed_limit if commitments is None \
        else commitments.limit(definition, spec, owner_agency)
    committed_on = None if committed is None else calendar.due(started_on, committed, policy).on
    return SpanDue(due.on, due.provisional, committed, committed_on, due.note,
                   calendar.fingerprint(started_on, due.on))


def changed_years(old: str | None, new: str) -> str:
    """Which years' schedules differ between two fingerprints, in words."""
    if old is None:
        return "computed before calendar fingerprints were kept"
    before = dict(part.split(":") for part in old.split(",") if ":" in part)
    years = [y for y, h in (part.split(":") for part in new.split(",")) if before.get(y) != h]
    return f"holiday schedule of {', '.join(years) or 'its window'} changed"


__all__ = ["SpanDue", "changed_years", "span_due"]
