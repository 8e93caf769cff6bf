"""Deadlines people act on: the overdue scan, its alerts, and who may run it.

The scan reads running spans by due date (one indexed query), classifies each (``due_soon``,
``overdue``, ``escalated``), and inserts the alerts with ``ON CONFLICT DO NOTHING`` on a
unique key, so an alert exists at most once however often or concurrently scans run. A lease
row in the database lets one instance scan at a time: the holder renews it while it works,
every write of the run checks the lease's generation (a fence), and a crashed holder's lease
expires, its run then marked abandoned by the instance that takes over.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
import structlog

from . import store
from ._views import _View
from .calendar import WorkingCalendar
from .errors import LeaseLost
from .settings import Settings
from .store import Lease, alerts_t, cases_t, runs_t, span_changes_t, spans_t
from .store import subscribers_t as subs_t

if TYPE_CHECKING:
    from .engine import Engine

log = structlog.get_logger("sstransfer")
LEVELS = ("due_soon", "overdue", "escalated", "statutory_breach")
#: A span judged by its committed due date that has also passed its statutory one.
STATUTORY_BREACH = "statutory_breach"
ADVISORY = "different_place_registration"
_CHUNK = 5000
LEASE_HELD = "another instance holds the lease"


@dataclasses.dataclass(frozen=True)
class Alert(_View):
    """One alert, raised once for a span and level (or once per case for an advisory)."""

    id: int
    level: str
    case_id: int
    span_id: int | None
    subject: str  # the span's name, or the advisory
    owner: str
    owner_agency: str
    due_on: dt.date | None
    working_days_late: int | None  # negative: working days left
    provisional: bool
    as_of: dt.date
    raised_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class ScanResult:
    """What one scan did; its alerts are ``engine.alerts(run_id=result.run_id)``."""

    as_of: dt.date
    ran: bool
    reason: str = ""
    run_id: int | None = None
    counts: dict[str, int] = dataclasses.field(default_factory=dict)
    delivered: int = 0
    failed_deliveries: int = 0

    def count(self, level: str) -> int:
        return self.counts.get(level, 0)

    @property
    def raised(self) -> int:
        return sum(self.counts.values())


def classify(due_on: dt.date, as_of: dt.date, calendar: WorkingCalendar,
             settings: Settings, statutory_on: dt.date | None = None) -> list[tuple[str, int]]:
    """The alert levels a running span is at on ``as_of``, each with working days late.

    ``due_on`` is the date the span is judged by: the committed due date where the agency has
    one, else the statutory one. With a committed date, pass the statutory date as
    ``statutory_on``: once that is passed too, the span is also at ``statutory_breach``.
    """
    if due_on >= as_of:
        left = calendar.working_days_between(as_of, due_on)
        return [("due_soon", -left)] if left <= settings.due_soon_days else []
    late = calendar.working_days_between(due_on, as_of)
    levels = [("overdue", late)]
    if late >= settings.escalate_after_days:
        levels.append(("escalated", late))
    if statutory_on is not None and statutory_on < as_of:
        levels.append((STATUTORY_BREACH, calendar.working_days_between(statutory_on, as_of)))
    return levels


def _alert(row: Any) -> Alert:
    return Alert.from_row(row, provisional=bool(row.provisional))


class Monitor:
    """The scan, alert delivery, leases and run records of one engine."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine, self.settings = engine, settings
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._subscribers: dict[str, Callable[[Alert], object]] = {}
        self._leases: dict[str, Lease] = {}

    @property
    def db(self) -> sa.Engine:
        return self.engine.db

    # --- leases and run records ------------------------------------------------------------
    def acquire(self, job: str) -> Lease | None:
        """Take the lease of ``job`` unless a live holder (this process included) has it.

        Runs left ``running`` by a holder whose lease ran out are marked ``abandoned``.
        """
        with self.db.begin() as conn:
            lease, abandoned = store.take_lease(conn, job, self.holder,
                                                self.settings.lease_seconds)
        for run_id, holder in abandoned:
            log.warning("run_abandoned", job=job, run_id=run_id, holder=holder)
        if lease is not None:
            self._leases[job] = lease
        return lease

    def release(self, job: str) -> None:
        lease = self._leases.pop(job, None)
        if lease is not None:
            with self.db.begin() as conn:
                store.release_lease(conn, lease)

    def lease_expiry(self, job: str) -> dt.datetime | None:
        """When the current holder's lease of ``job`` runs out unless it renews it."""
        with self.db.connect() as conn:
            return store.lease_expiry(conn, job)

    def _heartbeat(self, lease: store.Lease, stop: threading.Event) -> None:
        """Renew ``lease`` every third of ``lease_seconds`` until ``stop`` (or it is lost)."""
        seconds = self.settings.lease_seconds
        while not stop.wait(seconds / 3):
            try:
                with self.db.begin() as conn:
                    if not store.renew_lease(conn, lease, seconds):
                        log.warning("lease_lost", job=lease.job, generation=lease.generation)
                        return
            except Exception as exc:  # the database is away: try again, the fence decides
                log.warning("lease_renewal_failed", job=lease.job,
                            error=f"{type(exc).__name__}: {exc}")

    def last_done(self, job: str) -> dt.date | None:
        """The business date of the last completed run of ``job``."""
        with self.db.connect() as conn:
            return conn.scalar(sa.select(sa.func.max(runs_t.c.as_of)).where(
                runs_t.c.job == job, runs_t.c.status == "done"))

    def runs(self, job: str | None = None) -> list[Any]:
        query = sa.select(runs_t).order_by(runs_t.c.id)
        if job:
            query = query.where(runs_t.c.job == job)
        with self.db.connect() as conn:
            return conn.execute(query).all()

    def run_once(self, job: str, as_of: dt.date, work: Callable[[int, Lease], str],
                 *, once: bool) -> tuple[int | None, str]:
        """Run ``work(run_id, lease)`` under the job's lease, renewed while it runs; record it.

        ``once``: skip if a run of the job is already done for ``as_of`` or later. Returns
        the run id (None if skipped or if the lease was lost) and the run's detail or the
        reason it did not run. Every write of the run is fenced by the lease's generation.
        """
        lease = self.acquire(job)
        if lease is None:
            log.info(f"{job}_skipped", as_of=str(as_of), reason="another instance is running it")
            return None, LEASE_HELD
        stop = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(lease, stop), daemon=True,
                                name=f"sstransfer-{job}-lease")
        beat.start()
        try:
            if once and (self.last_done(job) or dt.date.min) >= as_of:
                log.info(f"{job}_skipped", as_of=str(as_of), reason="already done")
                return None, f"already done as of {as_of}"
            with self.db.begin() as conn:
                run_id = store.start_run(conn, lease, as_of)
            try:
                detail = work(run_id, lease)
            except LeaseLost as exc:
                log.warning(f"{job}_lease_lost", as_of=str(as_of), run_id=run_id)
                return None, str(exc)
            except Exception as exc:
                with contextlib.suppress(LeaseLost), self.db.begin() as conn:
                    store.finish_run(conn, lease, run_id, "failed", f"{type(exc).__name__}: {exc}")
                raise
            try:
                with self.db.begin() as conn:
                    store.finish_run(conn, lease, run_id, "done", detail)
            except LeaseLost as exc:
                log.warning(f"{job}_lease_lost", as_of=str(as_of), run_id=run_id)
                return None, str(exc)
            return run_id, detail
        finally:
            stop.set()
            beat.join()
            self.release(job)

    # --- the scan ---------------------------------------------------------------------------
    def scan(self, as_of: dt.date, *, once: bool = False) -> ScanResult:
        """Raise every alert due on ``as_of``; deliver pending alerts to the callbacks."""
        counts: dict[str, int] = {}
        delivered = failed = 0
        self._horizon(as_of)  # refuse a date off the calendar before taking the lease or a run

        def work(run_id: int, lease: Lease) -> str:
            nonlocal delivered, failed
            counts.update(self._raise(as_of, self.last_done("scan"), run_id, lease))
            delivered, failed = self.deliver(lease)  # under the lease: one deliverer at a time
            return ", ".join(f"{lvl}={counts.get(lvl, 0)}" for lvl in (*LEVELS, "advisory"))

        run_id, reason = self.run_once("scan", as_of, work, once=once)
        if run_id is None:
            return ScanResult(as_of, False, reason)
        # One event per scan with the count of each alert level (one per alert only at debug).
        log.info("scan_done", as_of=str(as_of), raised=sum(counts.values()),
                 delivered=delivered, failed_deliveries=failed,
                 **{lvl: counts.get(lvl, 0) for lvl in (*LEVELS, "advisory")})
        return ScanResult(as_of, True, "", run_id, counts, delivered, failed)

    def _raise(self, as_of: dt.date, since: dt.date | None, run_id: int,
               lease: Lease | None = None) -> dict[str, int]:
        """Insert the alerts due on ``as_of``, streaming the spans in chunks; count the new ones."""
        cal, settings = self.engine.calendar, self.settings
        horizon = self._horizon(as_of)
        stamp = store.now()
        counts: dict[str, int] = {}

        def alert(s: Any, level: str, late: int | None) -> dict[str, Any]:
            # Judged by the committed due date where there is one; a breach by the statutory.
            due_on = s.due_on if level == STATUTORY_BREACH else s.committed_due_on or s.due_on
            return {"key": f"span:{s.id}:{level}", "level": level, "case_id": s.case_id,
                    "span_id": s.id, "subject": s.name, "owner": s.owner,
                    "owner_agency": s.owner_agency, "due_on": due_on,
                    "working_days_late": late, "provisional": bool(s.provisional),
                    "as_of": as_of, "raised_at": stamp, "run_id": run_id}

        def levels(s: Any) -> list[tuple[str, int]]:
            own = cal.for_agency(s.owner_agency)  # with its province's own holidays
            if s.committed_due_on is None:
                return classify(s.due_on, as_of, own, settings)
            return classify(s.committed_due_on, as_of, own, settings, statutory_on=s.due_on)

        spans = (sa.select(spans_t.c.id, spans_t.c.case_id, spans_t.c.name, spans_t.c.owner,
                           spans_t.c.owner_agency, spans_t.c.due_on, spans_t.c.provisional,
                           spans_t.c.committed_due_on)
                 .where(spans_t.c.ended_on.is_(None),
                        sa.or_(spans_t.c.due_on <= horizon, spans_t.c.committed_due_on <= horizon),
                        spans_t.c.started_on <= as_of))
        with self.db.connect() as reader:
            chunks = reader.execution_options(yield_per=_CHUNK).execute(spans).partitions()
            for chunk in chunks:
                rows = [alert(s, level, late) for s in chunk for level, late in levels(s)]
                self._insert_alerts(rows, counts, as_of, lease)
            advisories = [{
                "key": f"advisory:{r.id}:{ADVISORY}", "level": "advisory", "case_id": r.id,
                "span_id": None, "subject": ADVISORY, "owner": "person",
                "owner_agency": r.destination, "due_on": None, "working_days_late": None,
                "provisional": False, "as_of": as_of, "raised_at": stamp, "run_id": run_id,
            } for r in reader.execute(self._advisory_query(as_of, since))]
        self._insert_alerts(advisories, counts, as_of, lease)
        return counts

    def _horizon(self, as_of: dt.date) -> dt.date:
        """The latest due date a scan as of ``as_of`` looks at (refuses a date off the calendar)."""
        cal, days = self.engine.calendar, self.settings.due_soon_days
        cal.is_working_day(as_of)
        if not days:
            return as_of
        # The furthest day a span may be due soon from, on the national or a regional calendar.
        regional = [cal.for_agency(f"{p}0000") for p in cal.regional]
        return max(c.add_working_days(as_of, days) for c in [cal, *regional])

    def _insert_alerts(self, rows: list[dict[str, Any]], counts: dict[str, int],
                       as_of: dt.date, lease: Lease | None) -> None:
        """Insert, skipping any alert that exists already; log and count the new ones.

        The new ones are those of this run (``run_id``) above the highest id before the insert.
        With ``lease``, only while it is held (else :class:`LeaseLost`).
        """
        if not rows:
            return
        run_id = rows[0]["run_id"]
        with self.db.begin() as conn:
            if lease is not None:
                store.fence(conn, lease)
            before = conn.scalar(sa.select(sa.func.coalesce(sa.func.max(alerts_t.c.id), 0)))
            store.prepared_insert_ignoring_duplicates(conn, alerts_t).run_many(conn, rows)
            new = conn.execute(
                sa.select(alerts_t.c.level, alerts_t.c.case_id, alerts_t.c.subject,
                          alerts_t.c.owner, alerts_t.c.owner_agency, alerts_t.c.due_on,
                          alerts_t.c.working_days_late)
                .where(alerts_t.c.run_id == run_id, alerts_t.c.id > before)
                .order_by(alerts_t.c.id)).all()
        logger, day = log.bind(), as_of.isoformat()
        for level, case_id, subject, owner, agency, due_on, late in new:
            counts[level] = counts.get(level, 0) + 1
            logger.debug("alert", alert_level=level, case_id=case_id, subject=subject, owner=owner,
                           agency=agency, due_on=due_on and due_on.isoformat(),
                           working_days_late=late, as_of=day)

    @staticmethod
    def _advisory_query(as_of: dt.date, since: dt.date | None) -> sa.Select:
        """Pension continued while the same person's medical insurance is not."""
        p, m = cases_t.alias("p"), cases_t.alias("m")
        medical = sa.select(m.c.id).where(m.c.person_id == p.c.person_id,
                                          m.c.insurance == "medical")
        query = sa.select(p.c.id, p.c.destination).where(
            p.c.insurance == "pension", p.c.state == "continued", p.c.last_event_on <= as_of,
            medical.exists(), ~medical.where(m.c.state == "continued").exists())
        if since is not None:  # the first scan looks at all; later ones at what is new
            query = query.where(p.c.last_event_on > since - dt.timedelta(days=31))
        return query

    # --- delivery to the host application's callbacks ---------------------------------------
    def on_alert(self, callback: Callable[[Alert], object], name: str | None = None) -> str:
        """Call ``callback(alert)`` for every alert raised from now on; returns its name."""
        name = name or f"{callback.__module__}.{callback.__qualname__}"
        with self.db.begin() as conn:
            last = conn.scalar(sa.select(sa.func.coalesce(sa.func.max(alerts_t.c.id), 0)))
            conn.execute(store.insert_ignoring_duplicates(conn, subs_t).values(
                name=name, since_alert_id=last, registered_at=store.now()))
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
            while not stopped and (pending := self._pending(name, after, lease.generation)):
                for a in pending:
                    after = a.id
                    with self.db.begin() as conn:
                        if not store.claim_delivery(conn, lease, a.id, name):
                            continue
                    try:
                        callback(a)
                    except Exception as exc:
                        failed, stopped = failed + 1, True
                        log.error("alert_callback_failed", subscriber=name, alert_id=a.id,
                                  case_id=a.case_id, error=f"{type(exc).__name__}: {exc}")
                        with self.db.begin() as conn:
                            store.drop_claim(conn, lease, a.id, name)
                        break
                    with self.db.begin() as conn:
                        store.record_delivery(conn, lease, a.id, name)
                    delivered += 1
        return delivered, failed

    def _pending(self, subscriber: str, after: int, generation: int) -> list[Alert]:
        """The next alerts not yet delivered to ``subscriber``, oldest first."""
        with self.db.connect() as conn:
            since = conn.scalar(sa.select(subs_t.c.since_alert_id)
                                .where(subs_t.c.name == subscriber))
            return [_alert(r) for r in conn.execute(
                sa.select(alerts_t).where(alerts_t.c.id > max(since, after),
                                          store.undelivered(subscriber, generation))
                .order_by(alerts_t.c.id).limit(_CHUNK))]

    def alerts(self, *, level: str | None = None, agency: str | None = None,
               case_id: int | None = None, as_of: dt.date | None = None,
               run_id: int | None = None, limit: int | None = None) -> list[Alert]:
        query = sa.select(alerts_t).order_by(alerts_t.c.id)
        for column, value in ((alerts_t.c.level, level), (alerts_t.c.owner_agency, agency),
                              (alerts_t.c.case_id, case_id), (alerts_t.c.as_of, as_of),
                              (alerts_t.c.run_id, run_id)):
            if value is not None:
                query = query.where(column == value)
        if limit is not None:
            query = query.limit(limit)
        with self.db.connect() as conn:
            return [_alert(r) for r in conn.execute(query)]

    # --- due dates after a holiday schedule changed ------------------------------------------
    def recompute(self) -> list[dict[str, Any]]:
        """Recompute every running span whose counting window touches a year whose schedule
        changed since it was computed (its calendar fingerprint differs); record each change.

        A span keeps the committed limit it was opened under.
        """
        from .deadlines import changed_years, span_due

        cal, stamp, changes = self.engine.calendar, store.now(), []
        with self.db.begin() as conn:
            rows = conn.execute(
                sa.select(spans_t, cases_t.c.definition_name, cases_t.c.definition_version)
                .join(cases_t, cases_t.c.id == spans_t.c.case_id)
                .where(spans_t.c.ended_on.is_(None)).order_by(spans_t.c.id)).all()
            for s in rows:
                own = cal.for_agency(s.owner_agency)
                now_print = own.fingerprint(s.started_on, s.due_on)
                if s.calendar_fingerprint == now_print:
                    continue
                d = self.engine.definition(s.definition_name, s.definition_version)
                spec = d.span(s.name)
                if spec is None:  # pragma: no cover - spans come from their definition
                    continue
                due = span_due(own, d, spec, s.started_on, s.owner_agency, None,
                               s.committed_limit_working_days)
                conn.execute(sa.update(spans_t).where(spans_t.c.id == s.id)
                             .values(**due.columns()))
                if (due.due_on, due.provisional, due.committed_due_on) == (
                        s.due_on, bool(s.provisional), s.committed_due_on):
                    continue
                change = {"span_id": s.id, "old_due_on": s.due_on, "new_due_on": due.due_on,
                          "old_provisional": bool(s.provisional),
                          "new_provisional": due.provisional,
                          "old_committed_due_on": s.committed_due_on,
                          "new_committed_due_on": due.committed_due_on, "changed_at": stamp,
                          "reason": changed_years(s.calendar_fingerprint, now_print)}
                conn.execute(sa.insert(span_changes_t).values(**change))
                changes.append({**change, "case_id": s.case_id, "span": s.name})
        for c in changes:
            log.info("due_date_recomputed", case_id=c["case_id"], span=c["span"],
                     old_due_on=c["old_due_on"].isoformat(), new_due_on=c["new_due_on"].isoformat(),
                     provisional=c["new_provisional"], reason=c["reason"])
        return changes


def last_occurrence(now: dt.datetime, at: dt.time, days: Iterable[int] | None,
                    calendar: WorkingCalendar | None) -> dt.date:
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


__all__ = ["ADVISORY", "LEASE_HELD", "LEVELS", "STATUTORY_BREACH", "Alert", "Monitor", "ScanResult",
           "classify",
           "last_occurrence"]
