"""APScheduler 3 jobs: the daily overdue scan, the weekly overdue report and the outbox's
delivery (every ``outbox_every_seconds``).

APScheduler's own job store is not shared between instances (its FAQ says several
schedulers must not share one); every instance keeps its jobs in memory and the database
decides: each run takes the job's lease, and the last completed run is recorded, so a run
missed while every instance was down is made up exactly once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from ..core.alerts import last_occurrence
from ..core.calendar import WorkingDays
from ..core.inputs import CHINA
from ..logs import get_logger
from ..records import Lease
from ..render import write_report
from ..settings import DAYS, Settings
from .alerts import AlertService
from .outbox import OutboxService
from .reports import ReportService
from .scheduling import LEASE_HELD, Scheduling

log = get_logger("sstransfer")


class Jobs:
    """What the scheduler runs; callable directly (and so in tests) with an explicit time."""

    def __init__(self, scheduling: Scheduling, alerts: AlertService, reports: ReportService,
                 calendar: WorkingDays, settings: Settings, outbox: OutboxService) -> None:
        self.scheduling, self.alerts, self.reports = scheduling, alerts, reports
        self.outbox = outbox
        self.calendar, self.settings = calendar, settings
        self.scheduler: BackgroundScheduler | None = None  # set by build_scheduler

    def now(self) -> dt.datetime:
        return dt.datetime.now(CHINA)

    def scan(self, now: dt.datetime | None = None) -> bool:
        """The daily scan: skipped on a non-working day, and once per business date."""
        today = (now or self.now()).date()
        if not self.calendar.is_working_day(today):
            log.info("scan_skipped", as_of=today.isoformat(), reason="not a working day")
            return False
        return self._scan(today)

    def _scan(self, as_of: dt.date) -> bool:
        result = self.alerts.scan(as_of, once=True)
        if result.reason == LEASE_HELD:
            self._retry_when_free("scan", self._scan, as_of)
        return result.ran

    def _retry_when_free(self, job: str, run: Callable[[dt.date], bool], as_of: dt.date) -> None:
        """Try a skipped run again when the holder's lease runs out.

        If the holder finished, the retry finds the run done; if it is still renewing, the
        retry is skipped and set again; if it was killed, the retry takes over.
        """
        if self.scheduler is None:  # called directly, not from a running scheduler
            return
        expiry = self.scheduling.lease_expiry(job) or dt.datetime.now(dt.UTC)
        when = max(expiry, dt.datetime.now(dt.UTC)) + dt.timedelta(seconds=0.5)
        self.scheduler.add_job(run, "date", run_date=when, args=[as_of], id=f"{job}_retry",
                               name=f"{job} when the lease is free", replace_existing=True)
        log.info(f"{job}_retry_scheduled", as_of=as_of.isoformat(), at=when.isoformat())

    def deliver_outbox(self) -> bool:
        """Deliver the outbox (every ``outbox_every_seconds``); a failure is logged and the
        next run tries again."""
        try:
            return self.outbox.deliver().ran
        except Exception as exc:  # the database is away: the next run tries again
            log.error("outbox_run_failed", error=f"{type(exc).__name__}: {exc}")
            return False

    def report(self, now: dt.datetime | None = None) -> bool:
        """The weekly overdue report, one file per format, named by date."""
        return self._report((now or self.now()).date())

    def _report(self, as_of: dt.date) -> bool:
        folder = self.settings.report_dir
        written: list[str] = []

        def work(run_id: int, lease: Lease) -> str:
            folder.mkdir(parents=True, exist_ok=True)
            report = self.reports.build(as_of)
            for fmt in self.settings.report_formats:
                written.append(str(write_report(report, fmt, folder / f"overdue-{as_of}.{fmt}")))
            return f"{report.total} overdue spans: " + ", ".join(written)

        run_id, reason = self.scheduling.run_once("report", as_of, work, once=True)
        if reason == LEASE_HELD:
            self._retry_when_free("report", self._report, as_of)
        if run_id is not None:
            log.info("report_written", as_of=as_of.isoformat(), files=written)
        return run_id is not None

    def catch_up(self, now: dt.datetime | None = None) -> list[str]:
        """Make up the latest missed scan and report, once each (not once per missed day)."""
        now = now or self.now()
        done = []
        cal, s = self.calendar, self.settings
        scan_day = last_occurrence(now, s.scan_at, None, cal)
        if (self.scheduling.last_done("scan") or dt.date.min) < scan_day:
            log.info("catching_up", job="scan", as_of=scan_day.isoformat())
            if self._scan(scan_day):
                done.append(f"scan {scan_day}")
        report_day = last_occurrence(now, s.report_at, [DAYS.index(s.report_day)], None)
        if (self.scheduling.last_done("report") or dt.date.min) < report_day:
            log.info("catching_up", job="report", as_of=report_day.isoformat())
            if self._report(report_day):
                done.append(f"report {report_day}")
        return done


def build_scheduler(jobs: Jobs) -> BackgroundScheduler:
    """A background scheduler in China time with the scan, the report and a catch-up."""
    s = jobs.settings
    scheduler = jobs.scheduler = BackgroundScheduler(timezone=CHINA, job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": 3600})
    scheduler.add_job(jobs.scan, CronTrigger(hour=s.scan_at.hour, minute=s.scan_at.minute,
                                             timezone=CHINA), id="scan", name="overdue scan")
    scheduler.add_job(jobs.report, CronTrigger(day_of_week=s.report_day, hour=s.report_at.hour,
                                               minute=s.report_at.minute, timezone=CHINA),
                      id="report", name="overdue report")
    scheduler.add_job(jobs.deliver_outbox, IntervalTrigger(seconds=s.outbox_every_seconds),
                      id="outbox", name="outbox delivery")
    scheduler.add_job(jobs.catch_up, id="catch_up", name="catch up missed runs",
                      next_run_time=dt.datetime.now(CHINA))
    return scheduler


def stop_scheduler(scheduler: BackgroundScheduler) -> None:
    """Stop the scheduler, letting a running job finish.

    APScheduler 3 removes a one-off job after submitting it; if shutdown() has set the
    scheduler's state first, that removal raises in its thread. Remove them first (a removal
    waits for a submission under way, which then removed it itself).
    """
    for job in scheduler.get_jobs():
        if isinstance(job.trigger, DateTrigger):
            with contextlib.suppress(JobLookupError):
                scheduler.remove_job(job.id)
    scheduler.shutdown(wait=True)


__all__ = ["Jobs", "build_scheduler", "stop_scheduler"]
