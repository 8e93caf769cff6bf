"""10 and 22. The REST API under load: concurrent clients firing transitions over loopback HTTP.

``CLIENTS`` threads, each with its own ``httpx.Client`` (one kept-alive connection) and its
own cases, fire ``review`` then ``send_letter`` on each of them
(``POST /api/v1/cases/{id}/fire`` with a destination clerk's token), against a server started
as ``sstransfer --db URL serve --workers 1`` and then ``--workers 4``, on PostgreSQL.
The baseline is the same workload through the engine called in-process
(``engine.fire`` from the same number of threads sharing one engine). Cases are opened
beforehand in bulk with ``engine.open_cases``, fresh for each side of each repetition.

Printed: requests (transitions) per second, p50 and p99 latency of one request, and the
ratio API / in-process, per repetition (interleaved: in-process, 1 worker, 4 workers) and as
the median with its range; the CPU per request of this process (the load generator: the
HTTP clients) and of the server's processes, and the load generator's share of the
machine's cores over the run. Then issue 22's goals, each with met/missed: API (1 worker) /
in-process >= 0.7, the API's p99 <= 2x the in-process p99, 4 workers / 1 worker >= 1.6.

No request may fail. The one documented exception is 409 ``concurrent_update``
(``ConcurrentUpdate``: another writer changed the case first), retried and counted; it cannot
happen here, as no two clients share a case. Any other status but 2xx (a 409
``invalid_transition`` included) stops the benchmark.

Usage: ``python bench_api.py [CLIENTS] [CASES_PER_CLIENT] [REPETITIONS]`` (default 16 25 3).
Needs $SSTRANSFER_BENCH_POSTGRES_URL (or $SSTRANSFER_TEST_POSTGRES_URL); `bash
.ci/postgres.sh` starts a server and prints one. The database's tables are dropped and made
anew.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import sqlalchemy as sa
from common import DOCS, header, median_range

from workflow import Actor, ConcurrentUpdate, Engine
from workflow.testing import valid_person_id

CLIENTS = int(sys.argv[1]) if len(sys.argv) > 1 else 16
PER_CLIENT = int(sys.argv[2]) if len(sys.argv) > 2 else 25
REPETITIONS = int(sys.argv[3]) if len(sys.argv) > 3 else 3
AGENCY = "440300"
CLERK = Actor("bench-clerk", "destination_clerk", AGENCY)
STEPS = ("review", "send_letter")
#: Cases each client fires on before the clock starts (connections, caches, each worker's
#: first request), not counted.
WARMUP = 2
ON = "2025-10-09"
SSTRANSFER = Path(sys.executable).with_name("sstransfer")


def url() -> str:
    found = os.environ.get("SSTRANSFER_BENCH_POSTGRES_URL") or os.environ.get(
        "SSTRANSFER_TEST_POSTGRES_URL")
    if not found:
        sys.exit("set SSTRANSFER_BENCH_POSTGRES_URL (bash .ci/postgres.sh starts a server)")
    return found


def fresh_database() -> None:
    db = sa.create_engine(url())
    with db.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    db.dispose()


#: Each case is another person's (one running transfer per person and insurance).
_PEOPLE = itertools.count()


def person_id() -> str:
    n = next(_PEOPLE)
    return valid_person_id(dt.date(1960, 1, 1) + dt.timedelta(days=n // 1000), seed=n)


def open_cases(engine: Engine) -> list[list[int]]:
    """CLIENTS lists of WARMUP + PER_CLIENT new cases, one list per client."""
    each = WARMUP + PER_CLIENT
    ids = engine.open_cases([dict(
        definition="pension_transfer", person_id=person_id(), person_name="张三",
        origin="310000", destination=AGENCY, applicant="employer", documents=DOCS,
        on=dt.date(2025, 9, 26)) for _ in range(CLIENTS * each)], actor=CLERK)
    return [ids[c * each:(c + 1) * each] for c in range(CLIENTS)]


class Failed(Exception):
    pass


#: A client's work: fire on its warm-up cases, wait for the start, fire on its own cases
#: (appending each request's latency); returns the conflicts it retried.
Work = Callable[[list[int], Callable[[], object], list[float]], int]


#: A side's figures: requests per second, every request's latency in seconds, conflicts
#: retried, this process's CPU seconds per request (the engine's in-process, the HTTP
#: clients' through the API), the server's CPU seconds per request (0 in-process), and this
#: process's share of the machine's cores over the run.
Run = tuple[float, list[float], int, float, float, float]


def race(work: Work, shares: list[list[int]], server: Server | None = None) -> Run:
    """Run ``work`` in one thread per share, all started together once warm."""
    latencies: list[list[float]] = [[] for _ in shares]
    conflicts = [0] * len(shares)
    errors: list[BaseException] = []
    start = threading.Barrier(len(shares) + 1)

    def client(n: int) -> None:
        try:
            conflicts[n] = work(shares[n], start.wait, latencies[n])
        except BaseException as exc:  # reported by the main thread
            start.abort()
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(len(shares))]
    for t in threads:
        t.start()
    with contextlib.suppress(threading.BrokenBarrierError):  # a client failed: see below
        start.wait()
    served = server.cpu() if server else 0.0
    began, cpu = time.perf_counter(), time.process_time()
    for t in threads:
        t.join()
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    served = (server.cpu() - served) if server else 0.0
    if errors:
        raise Failed(f"{len(errors)} client(s) failed; the first: {errors[0]!r}")
    every = [s for per in latencies for s in per]
    return (len(every) / seconds, every, sum(conflicts), cpu / len(every),
            served / len(every), cpu / seconds / (os.cpu_count() or 1))


def in_process(engine: Engine, shares: list[list[int]]) -> Run:
    on = dt.date.fromisoformat(ON)

    def work(cases: list[int], ready: Callable[[], object], latencies: list[float]) -> int:
        conflicts = 0
        for n, case_id in enumerate(cases):
            if n == WARMUP:
                ready()
                latencies.clear()
            for trigger in STEPS:
                while True:
                    began = time.perf_counter()
                    try:
                        engine.fire(case_id, trigger, actor=CLERK, on=on)
                    except ConcurrentUpdate:
                        conflicts += 1
                        continue
                    latencies.append(time.perf_counter() - began)
                    break
        return conflicts

    return race(work, shares)


def through_api(server: Server, token: str, shares: list[list[int]]) -> Run:
    headers = {"Authorization": f"Bearer {token}"}
    base = server.base

    def work(cases: list[int], ready: Callable[[], object], latencies: list[float]) -> int:
        conflicts = 0
        with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
            for n, case_id in enumerate(cases):
                if n == WARMUP:
                    ready()
                    latencies.clear()
                for trigger in STEPS:
                    while True:
                        began = time.perf_counter()
                        r = http.post(f"/api/v1/cases/{case_id}/fire",
                                      json={"trigger": trigger, "on": ON})
                        elapsed = time.perf_counter() - began
                        if r.status_code == 409 and r.json().get("code") == "concurrent_update":
                            conflicts += 1
                            continue
                        if not r.is_success:
                            raise Failed(f"{trigger} on case {case_id}: HTTP {r.status_code} "
                                         f"{r.text[:300]}")
                        latencies.append(elapsed)
                        break
        return conflicts

    return race(work, shares, server)


def breakdown(engine: Engine, token: str, cases: list[int]) -> dict[str, float]:
    """Milliseconds per call, one thread, in-process, of the engine work the fire route does
    for one request (authenticate the token: kept in the principal cache; the desk's fire:
    the scoped read and the step in one transaction), beside the bare ``engine.fire``."""
    on = dt.date.fromisoformat(ON)
    desk = engine.desk(engine.authenticate(token), via="api")
    half = len(cases) // 2
    calls: dict[str, Callable[[int], object]] = {
        "authenticate": lambda _: engine.authenticate(token),
        "desk.fire": lambda case_id: desk.fire(case_id, STEPS[0], on=on),
        "engine.fire": lambda case_id: engine.fire(case_id, STEPS[0], actor=CLERK, on=on)}
    spent = {}
    for name, call in calls.items():
        some = cases[:half] if name == "desk.fire" else cases[half:]
        began = time.perf_counter()
        for case_id in some:
            call(case_id)
        spent[name] = (time.perf_counter() - began) * 1e3 / len(some)
    return spent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``sstransfer --db URL serve --workers N`` in a process group of its own, its output to
    a log file; ready once it answers on its port."""

    def __init__(self, workers: int, log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log.open("ab")
        self.process = subprocess.Popen(
            [str(SSTRANSFER), "--db", url(), "serve", "--port", str(self.port),
             "--workers", str(workers)],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 120
        while True:
            if self.process.poll() is not None:
                raise Failed(f"the server exited with {self.process.returncode}; see {log}")
            try:
                if httpx.get(f"{self.base}/progress", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise Failed(f"the server did not start in 120 s; see {log}")
            time.sleep(0.2)
        if workers > 1:  # every worker up, not only the first to answer
            time.sleep(2)

    def cpu(self) -> float:
        """CPU seconds (user and system) spent so far by the server's processes (its process
        group: uvicorn's supervisor and workers), from /proc (0 where there is none)."""
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rpartition(")")[2].split()
            except OSError:  # a process that has gone
                continue
            if int(fields[2]) == self.process.pid:  # fields: state, ppid, pgrp, ..., 11 utime
                total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def line(name: str, run: Run, baseline: float | None = None) -> None:
    rate, latencies, conflicts, cpu, served, share = run
    ratio = f"  ratio {rate / baseline:.2f}" if baseline else ""
    server = f", server {served * 1e3:.2f}" if served else ""
    print(f"  {name:<16} {rate:>7,.1f} req/s  p50 {percentile(latencies, .5) * 1e3:>6.1f} ms  "
          f"p99 {percentile(latencies, .99) * 1e3:>6.1f} ms  CPU ms/req: this process "
          f"{cpu * 1e3:.2f}{server} (this process {share:.0%} of the cores)  "
          f"{conflicts} conflicts{ratio}", flush=True)


def goal(name: str, value: float, target: float, *, at_most: bool = False,
         values: list[float] | None = None) -> None:
    met = value <= target if at_most else value >= target
    spread = f" ({min(values):.2f}-{max(values):.2f})" if values else ""
    print(f"  {name:<62} {value:5.2f}{spread}  goal {'<=' if at_most else '>='} {target:g}: "
          f"{'met' if met else 'MISSED'}")


def main() -> None:
    requests = CLIENTS * PER_CLIENT * len(STEPS)
    header(f"10, 22. REST API under load: {CLIENTS} clients x {PER_CLIENT} cases x "
           f"{len(STEPS)} transitions = {requests:,} requests a side, PostgreSQL, "
           f"{REPETITIONS} repetitions")
    print(f"command: python bench_api.py {CLIENTS} {PER_CLIENT} {REPETITIONS}; "
          f"cores: {os.cpu_count()}; load average {os.getloadavg()[0]:.2f}")
    fresh_database()
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench_api-{os.getpid()}.log"
    sides = {"in-process": 0, "API, 1 worker": 1, "API, 4 workers": 4}  # side: workers
    figures: dict[str, list[Run]] = {s: [] for s in sides}
    with Engine(url()) as engine:
        token, _ = engine.access_service.create_token(
            "bench-clerk", "clerk", AGENCY, label="bench_api.py")
        for rep in range(1, REPETITIONS + 1):
            print(f"repetition {rep}:", flush=True)
            base = None
            for side, workers in sides.items():
                shares = open_cases(engine)
                if not workers:
                    run = in_process(engine, shares)
                else:
                    server = Server(workers, log)
                    try:
                        run = through_api(server, token, shares)
                    finally:
                        server.stop()
                line(side, run, base)
                base = base or run[0]
                figures[side].append(run)
        spent = breakdown(engine, token, [i for share in open_cases(engine) for i in share])
    print(f"medians of {REPETITIONS} (range); load average {os.getloadavg()[0]:.2f}; "
          f"server output in {log}")
    for side, workers in sides.items():
        runs = figures[side]
        p50 = statistics.median(percentile(r[1], .5) for r in runs) * 1e3
        p99 = statistics.median(percentile(r[1], .99) for r in runs) * 1e3
        served = (f", the server's {statistics.median(r[4] for r in runs) * 1e3:.2f}"
                  if workers else "")
        print(f"  {side:<16} {median_range([r[0] for r in runs])} req/s; p50 {p50:.1f} ms, "
              f"p99 {p99:.1f} ms; CPU ms/req: this process's "
              f"{statistics.median(r[3] for r in runs) * 1e3:.2f}{served}; this process took "
              f"{statistics.median(r[5] for r in runs):.0%} of the {os.cpu_count()} cores")
    print("  the engine work of one fire request, one thread, in-process: "
          + ", ".join(f"{name} {ms:.2f} ms" for name, ms in spent.items()))
    print("goals (issue 22), medians of the same-run ratios (range):")
    inproc, one, four = (figures[s] for s in sides)
    ratios = [a[0] / b[0] for a, b in zip(one, inproc, strict=True)]
    goal(f"API, 1 worker, / in-process, {CLIENTS} clients", statistics.median(ratios), 0.7,
         values=ratios)
    tails = [percentile(a[1], .99) / percentile(b[1], .99) for a, b in zip(one, inproc, strict=True)]
    goal("API p99 (1 worker) / in-process p99", statistics.median(tails), 2, at_most=True,
         values=tails)
    scale = [a[0] / b[0] for a, b in zip(four, one, strict=True)]
    goal(f"API, 4 workers / 1 worker (load generator: {statistics.median(r[5] for r in four):.0%}"
         " of the cores)", statistics.median(scale), 1.6, values=scale)


if __name__ == "__main__":
    try:
        main()
    except Failed as exc:
        sys.exit(f"bench_api: FAILED: {exc}")
