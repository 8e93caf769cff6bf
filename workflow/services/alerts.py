"""Deadlines people act on: the overdue scan, its alerts, their delivery, due-date changes.

The scan reads running spans by due date (one indexed query), classifies each with the pure
core (:mod:`workflow.core.alerts`), and inserts the alerts with ``ON CONFLICT DO NOTHING`` on
a unique key, so an alert exists at most once however often or concurrently scans run. It
runs under the ``scan`` lease of :class:`~workflow.services.scheduling.Scheduling`: one
instance at a time, every write fenced by the lease's generation.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

from ..core.alerts import (
    ADVISORY,
    ALERT_LEVELS,
    STATUTORY_BREACH,
    judged_due_on,
    scan_horizon,
    span_levels,
)
from ..core.calendar import WorkingDays
from ..core.deadlines import changed_years, span_due
from ..core.inputs import today
from ..core.queries import AlertQuery, InboxQuery
from ..core.views import ScanResult
from ..logs import get_logger
from ..ports import AlertStore, InboxStore
from ..records import (
    Alert,
    InboxSpan,
    Lease,
    NewAlert,
    Run,
    Span,
    SpanAlert,
    SpanChange,
    SpanToJudge,
    now,
)
from ..settings import Settings
from .definitions import DefinitionRegistry
from .scheduling import Scheduling

log = get_logger("sstransfer")
_CHUNK = 5000


@dataclasses.dataclass(frozen=True)
class InboxItem:
    """A running span in an agency's inbox, with its case and the alert levels it is at
    (each with working days late; negative: left) on the day the inbox was read."""

    span: InboxSpan
    levels: list[tuple[str, int]]


@dataclasses.dataclass(frozen=True)
class InboxPage:
    total: int  # running spans in the inbox
    items: list[InboxItem]  # this page of them, soonest due first
    #: Grouped by agency (``InboxQuery.by_agency``): each owning agency's running spans.
    per_agency: dict[str, int] = dataclasses.field(default_factory=dict)


class AlertService:
    """The scan, alert delivery to callbacks, stored alerts and due-date recomputation."""

    def __init__(self, store: AlertStore, scheduling: Scheduling, calendar: WorkingDays,
                 settings: Settings, definitions: DefinitionRegistry, *,
                 inbox: InboxStore | None = None) -> None:
        self.store, self.scheduling, self.calendar = store, scheduling, calendar
        self.settings, self.definitions, self.inbox_store = settings, definitions, inbox
        self._subscribers: dict[str, Callable[[Alert], object]] = {}

    # --- the scan ---------------------------------------------------------------------------
    def scan(self, as_of: dt.date, *, once: bool = False) -> ScanResult:
        """Raise every alert due on ``as_of``; deliver pending alerts to the callbacks."""
        counts: dict[str, int] = {}
        delivered = failed = resolved = 0
        self._horizon(as_of)  # refuse a date off the calendar before taking the lease or a run

        def work(run_id: int, lease: Lease) -> str:
            nonlocal delivered, failed, resolved
            # Alerts naming a due date their span no longer has are resolved first, so that
            # the span is judged again below by its new one (never left stale).
            resolved = self.store.resolve_moved(as_of, lease)
            counts.update(self.raise_alerts(as_of, self.scheduling.last_done_run("scan"),
                                            run_id, lease))
            delivered, failed = self.deliver(lease)  # under the lease: one deliverer at a time
            return ", ".join(f"{lvl}={counts.get(lvl, 0)}" for lvl in ALERT_LEVELS)

        run_id, reason = self.scheduling.run_once("scan", as_of, work, once=once)
        if run_id is None:
            return ScanResult(as_of, False, reason)
        # One event per scan with the count of each alert level (one per alert only at debug).
        log.info("scan_done", as_of=str(as_of), raised=sum(counts.values()),
                 delivered=delivered, failed_deliveries=failed, resolved=resolved,
                 **{lvl: counts.get(lvl, 0) for lvl in ALERT_LEVELS})
        return ScanResult(as_of, True, "", run_id, counts, delivered, failed, resolved)

    def raise_alerts(self, as_of: dt.date, since: Run | None, run_id: int,
                     lease: Lease | None = None) -> dict[str, int]:
        """Insert the alerts due on ``as_of``, streaming the spans in chunks; count the new ones.
        The advisories: of the pension cases the last completed scan (``since``) could not
        have seen; of all before the first scan."""
        cal, settings = self.calendar, self.settings
        horizon = self._horizon(as_of)
        stamp = now()
        counts: dict[str, int] = {}

        def alert(s: SpanToJudge, level: str, late: int | None) -> NewAlert:
            return NewAlert(level, s.case_id, s.id, s.name, s.owner, s.owner_agency,
                            judged_due_on(level, s.due_on, s.committed_due_on), late,
                            bool(s.provisional), as_of, stamp, run_id)

        with self.store.spans_to_judge(as_of, horizon, _CHUNK) as chunks:
            for chunk in chunks:
                rows = [alert(s, level, late) for s in chunk for level, late in span_levels(
                    s.due_on, s.committed_due_on, as_of, cal.for_agency(s.owner_agency),
                    settings, s.name)]
                self._insert_alerts(rows, counts, as_of, lease)
        advisories = [NewAlert("advisory", r.case_id, None, ADVISORY, "person", r.destination,
                               None, None, False, as_of, stamp, run_id)
                      for r in self.store.advisories(as_of, since)]
        self._insert_alerts(advisories, counts, as_of, lease)
        return counts

    def _horizon(self, as_of: dt.date) -> dt.date:
        return scan_horizon(as_of, self.calendar, self.settings.due_soon_days)

    def _insert_alerts(self, rows: list[NewAlert], counts: dict[str, int],
                       as_of: dt.date, lease: Lease | None) -> None:
        """Insert, skipping any alert that exists already; count the new ones (and log each
        at debug level)."""
        if not rows:
            return
        new = self.store.insert_alerts(rows, lease)
        debug, day = log.bind(), as_of.isoformat()
        for _id, level, case_id, subject, owner, agency, due_on, late in new:
            counts[level] = counts.get(level, 0) + 1
            debug.debug("alert", alert_level=level, case_id=case_id, subject=subject,
                        owner=owner, agency=agency, due_on=due_on and due_on.isoformat(),
                        working_days_late=late, as_of=day)

    # --- delivery to the host application's callbacks ---------------------------------------
    def on_alert(self, callback: Callable[[Alert], object], name: str | None = None) -> str:
        """Call ``callback(alert)`` for every alert raised from now on; returns its name."""
        name = name or f"{callback.__module__}.{callback.__qualname__}"
        self.store.subscribe(name, now())
        self._subscribers[name] = callback
        return name

    def deliver(self, lease: Lease) -> tuple[int, int]:
        """Send each subscriber the alerts it has not had; a failure waits for the next scan.

        Each alert is claimed in the database (fenced by the scan's ``lease``) before its
        callback is called and recorded after, so two scanners never send the same alert; a
        process killed between a callback and its record sends that one alert again.
        """
        delivered = failed = 0
        for name, callback in self._subscribers.items():
            after, stopped = 0, False
            while not stopped and (pending := self.store.pending(
                    name, after, lease.generation, _CHUNK)):
                for a in pending:
                    after = a.id
                    if not self.store.claim_delivery(lease, a.id, name):
                        continue
                    try:
                        callback(a)
                    except Exception as exc:
                        failed, stopped = failed + 1, True
                        log.error("alert_callback_failed", subscriber=name, alert_id=a.id,
                                  case_id=a.case_id, error=f"{type(exc).__name__}: {exc}")
                        self.store.drop_claim(lease, a.id, name)
                        break
                    self.store.record_delivery(lease, a.id, name)
                    delivered += 1
        return delivered, failed

    def alerts(self, query: AlertQuery) -> list[Alert]:
        """The stored alerts ``query`` asks for (see :class:`~workflow.core.queries.AlertQuery`)."""
        return self.store.alerts(query)

    def span_alerts(self, query: AlertQuery) -> list[SpanAlert]:
        """One line per span of the alerts ``query`` asks for, at its highest level, open
        lines first (``query.resolved``: only open or only resolved lines)."""
        return self.store.span_alerts(query)

    def last_scan(self) -> Run | None:
        """The completed scan of the latest as-of date (when it finished, as of which date)."""
        return self.scheduling.last_done_run("scan")

    def counting_day(self) -> dt.date:
        """The one day the inbox, the alerts page and a case's page count working days left
        or late from: the as-of date of the last completed scan (the day its alerts were
        raised for), so that a span's days agree with its alerts; today before any scan."""
        last = self.last_scan()
        return today() if last is None else last.as_of

    def inbox(self, query: InboxQuery) -> InboxPage:
        """The running spans owned by the query's ``agencies`` (or by the agencies of its
        ``province``), soonest due first, each classified as the scan would on ``as_of``
        (due soon, overdue, escalated, past the statutory limit) on its agency's calendar."""
        if self.inbox_store is None:
            raise AssertionError("this AlertService was built without an inbox store")
        total, rows = self.inbox_store.running_spans(query)
        per_agency = self.inbox_store.running_per_agency(query) if query.by_agency else {}
        return InboxPage(total, [InboxItem(r, self.levels(r, query.as_of)) for r in rows],
                         per_agency)

    def levels(self, span: Span | InboxSpan | SpanAlert, as_of: dt.date) -> list[tuple[str, int]]:
        """The alert levels a running span (``due_on``, ``committed_due_on``,
        ``owner_agency``) is at on ``as_of``, on its agency's calendar, with the settings'
        thresholds; each with working days late (negative: left). An advisory's line (no span,
        no due date) is at none."""
        if span.due_on is None:
            return []
        return span_levels(span.due_on, span.committed_due_on, as_of,
                           self.calendar.for_agency(span.owner_agency), self.settings,
                           span.subject if isinstance(span, SpanAlert) else span.name)

    # --- due dates after a holiday schedule changed ------------------------------------------
    def recompute(self) -> list[dict[str, Any]]:
        """Recompute every running span whose counting window touches a year whose schedule
        changed since it was computed (its calendar fingerprint differs); record each change.

        A span keeps the committed limit it was opened under.
        """
        cal, stamp, changes = self.calendar, now(), []
        with self.store.recompute_transaction() as tx:
            for s in tx.running_spans():
                own = cal.for_agency(s.owner_agency)
                now_print = own.fingerprint(s.started_on, s.due_on)
                if s.calendar_fingerprint == now_print:
                    continue
                d = self.definitions.get(s.definition_name, s.definition_version)
                spec = d.span(s.name)
                if spec is None:  # pragma: no cover - spans come from their definition
                    continue
                due = span_due(own, d, spec, s.started_on, s.owner_agency, None,
                               s.committed_limit_working_days)
                tx.set_due(s.id, due)
                if (due.due_on, due.provisional, due.committed_due_on) == (
                        s.due_on, bool(s.provisional), s.committed_due_on):
                    continue
                change = SpanChange(s.id, s.due_on, due.due_on, bool(s.provisional),
                                    due.provisional, s.committed_due_on, due.committed_due_on,
                                    stamp, changed_years(s.calendar_fingerprint, now_print))
                tx.record_change(change)
                changes.append({**dataclasses.asdict(change), "case_id": s.case_id,
                                "span": s.name})
        for c in changes:
            log.info("due_date_recomputed", case_id=c["case_id"], span=c["span"],
                     old_due_on=c["old_due_on"].isoformat(), new_due_on=c["new_due_on"].isoformat(),
                     provisional=c["new_provisional"], reason=c["reason"])
        return changes


__all__ = ["STATUTORY_BREACH", "AlertService", "InboxItem", "InboxPage"]
