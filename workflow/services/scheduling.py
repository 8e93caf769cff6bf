"""Who runs a scheduled job, and the record of its runs: leases and run records.

A lease row in the database lets one instance run a job at a time: the holder renews it while
it works, every write of the run checks the lease's generation (a fence), and a crashed
holder's lease expires, its run then marked abandoned by the instance that takes over.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator

from ..errors import LeaseLost
from ..logs import get_logger
from ..ports import SchedulingStore
from ..records import Lease, Run
from ..settings import Settings

log = get_logger("sstransfer")
LEASE_HELD = "another instance holds the lease"


class Scheduling:
    """Leases and run records of one process (its ``holder`` name is unique)."""

    def __init__(self, store: SchedulingStore, settings: Settings) -> None:
        self.store, self.settings = store, settings
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._leases: dict[str, Lease] = {}

    def acquire(self, job: str) -> Lease | None:
        """Take the lease of ``job`` unless a live holder (this process included) has it.

        Runs left ``running`` by a holder whose lease ran out are marked ``abandoned``.
        """
        lease, abandoned = self.store.take_lease(job, self.holder, self.settings.lease_seconds)
        for run_id, holder in abandoned:
            log.warning("run_abandoned", job=job, run_id=run_id, holder=holder)
        if lease is not None:
            self._leases[job] = lease
        return lease

    def release(self, job: str) -> None:
        lease = self._leases.pop(job, None)
        if lease is not None:
            self.store.release_lease(lease)

    def lease_expiry(self, job: str) -> dt.datetime | None:
        """When the current holder's lease of ``job`` runs out unless it renews it."""
        return self.store.lease_expiry(job)

    def last_done(self, job: str) -> dt.date | None:
        """The business date of the last completed run of ``job``."""
        return self.store.last_done(job)

    def last_done_run(self, job: str) -> Run | None:
        """The completed run of ``job`` of the latest business date: when it finished and
        as of which date."""
        return self.store.last_done_run(job)

    def runs(self, job: str | None = None) -> list[Run]:
        """The runs of ``job`` (None: of every job), oldest first."""
        return self.store.runs(job)

    def _heartbeat(self, lease: Lease, stop: threading.Event) -> None:
        """Renew ``lease`` every third of ``lease_seconds`` until ``stop`` (or it is lost)."""
        seconds = self.settings.lease_seconds
        while not stop.wait(seconds / 3):
            try:
                if not self.store.renew_lease(lease, seconds):
                    log.warning("lease_lost", job=lease.job, generation=lease.generation)
                    return
            except Exception as exc:  # the database is away: try again, the fence decides
                log.warning("lease_renewal_failed", job=lease.job,
                            error=f"{type(exc).__name__}: {exc}")

    @contextlib.contextmanager
    def holding(self, job: str) -> Iterator[Lease | None]:
        """The lease of ``job`` while the block runs, renewed in the background and released
        after; None if another instance holds it. (For a job that runs often, such as the
        outbox's delivery, and keeps no run record.)"""
        lease = self.acquire(job)
        if lease is None:
            yield None
            return
        stop = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(lease, stop), daemon=True,
                                name=f"sstransfer-{job}-lease")
        beat.start()
        try:
            yield lease
        finally:
            stop.set()
            beat.join()
            self.release(job)

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
            run_id = self.store.start_run(lease, as_of)
            try:
                detail = work(run_id, lease)
            except LeaseLost as exc:
                log.warning(f"{job}_lease_lost", as_of=str(as_of), run_id=run_id)
                return None, str(exc)
            except Exception as exc:
                with contextlib.suppress(LeaseLost):
                    self.store.finish_run(lease, run_id, "failed", f"{type(exc).__name__}: {exc}")
                raise
            try:
                self.store.finish_run(lease, run_id, "done", detail)
            except LeaseLost as exc:
                log.warning(f"{job}_lease_lost", as_of=str(as_of), run_id=run_id)
                return None, str(exc)
            return run_id, detail
        finally:
            stop.set()
            beat.join()
            self.release(job)


__all__ = ["LEASE_HELD", "Scheduling"]
