"""Shared helpers for the benchmarks: timing, memory, fast bulk data, and figure lines."""

from __future__ import annotations

import datetime as dt
import json
import logging
import platform
import random
import resource
import sqlite3
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import structlog

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workflow.demo import person_id

ROOT = Path(__file__).resolve().parent.parent

# Benchmarks measure the engine, not the terminal: drop log events cheaply.
structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))

AGENCIES = ["110000", "310000", "440100", "440300", "330100", "510100", "420100", "610100"]
DOCS = ["application_form", "id_card", "payment_voucher", "endowment_manual",
        "employment_certificate"]


def people(n: int, seed: int = 7) -> list[str]:
    """``n`` distinct made-up resident ID numbers: a person has at most one running transfer
    of an insurance (the unique index of migration 0012), so each opened case is another
    person's."""
    rng, found = random.Random(seed), dict[str, None]()
    while len(found) < n:
        found[person_id(rng)] = None
    return list(found)


def header(title: str) -> None:
    print(f"\n## {title}")
    print(f"machine: {platform.machine()}, {platform.python_implementation()} "
          f"{platform.python_version()}, {platform.system()}; date {dt.date.today()}; "
          f"{load_average()}")


def figure(name: str, value: float, unit: str, *, baseline: float | None = None,
           target: str = "") -> None:
    ratio = f"  ratio {value / baseline:.2f}" if baseline else ""
    print(f"{name:<58} {value:>14,.1f} {unit}{ratio}  {target}".rstrip())


@contextmanager
def timed():
    box = {}
    start = time.perf_counter()
    yield box
    box["seconds"] = time.perf_counter() - start


def max_rss_mb() -> float:
    """This process's peak resident memory. Linux's VmHWM starts afresh at exec, unlike
    ru_maxrss, which a child inherits from the parent that forked it."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fill_sqlite(path: Path, cases: int, overdue: int, as_of: dt.date, *, seed: int = 7) -> None:
    """Write ``cases`` cases, each with one running span, straight into an engine database.

    Exactly ``overdue`` spans are past due on ``as_of``; the others are due well after it.
    """
    rng = random.Random(seed)
    ids = people(cases, seed)  # each running case another person's (migration 0012)
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(" ")
    docs = json.dumps(DOCS)
    late = set(rng.sample(range(cases), overdue))
    batch, spans = [], []
    for i in range(1, cases + 1):
        origin, destination = rng.sample(AGENCIES, 2)
        opened = as_of - dt.timedelta(days=rng.randrange(1, 10))
        batch.append((i, "pension_transfer", 1, "pension", "applied", 1, ids[i - 1],
                      f"person {i}", origin, destination, "cross_province", "employer",
                      "counter", docs, "[]", opened, opened, now, now))
        due = as_of - dt.timedelta(days=rng.randrange(1, 40)) if i - 1 in late \
            else as_of + dt.timedelta(days=rng.randrange(30, 60))
        spans.append((i, i, "destination_review", "destination", destination, 15,
                      opened - dt.timedelta(days=30), due, 0))
        if len(batch) == 50_000 or i == cases:
            con.executemany(
                "INSERT INTO transfer_case (id, definition_name, definition_version, insurance, "
                "state, version, person_id, person_name, origin, destination, scope, applicant, "
                "channel, documents, requested_documents, opened_on, last_event_on, created_at, "
                "updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", batch)
            con.executemany(
                "INSERT INTO span (id, case_id, name, owner, owner_agency, limit_working_days, "
                "started_on, due_on, provisional) VALUES (?,?,?,?,?,?,?,?,?)", spans)
            batch, spans = [], []
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.execute("ANALYZE")
    con.close()


def median_range(values: list[float]) -> str:
    """A figure as issue 9 asks: the median, with the range beside it."""
    return f"{statistics.median(values):,.2f} ({min(values):,.2f}-{max(values):,.2f})"


def goal_row(measure: str, now: str, goal: str, met: bool, short_by: str = "") -> None:
    """One row of a goal, as every bench prints it: ``measure | now | goal | met/missed``."""
    verdict = "met" if met else f"missed{f' by {short_by}' if short_by else ''}"
    print(f"| {measure} | {now} | {goal} | {verdict} |")


def goal_line(name: str, ratios: list[float], goal: float, *, at_least: bool = True) -> None:
    """The per-repetition ratios of a row, its goal and whether the median meets it."""
    med = statistics.median(ratios)
    met = med >= goal if at_least else med <= goal
    sign = ">=" if at_least else "<="
    goal_row(name, f"ratio {median_range(ratios)}", f"{sign} {goal:g}", met,
             f"{abs(med - goal) / goal:.0%}")


def definitions_before_papers(folder: Path) -> Path:
    """A copy in ``folder`` of the shipped definitions without the versions whose steps issue
    papers (pension_transfer 2, medical_transfer 3), as the test suite runs by default: the
    steps of the benches and the peer race then write what their baselines write (case,
    history, spans, outbox event), not an HTML paper besides."""
    import shutil

    target = folder / "definitions"
    shutil.copytree(ROOT / "definitions", target)
    for name in ("pension_transfer.v2.yaml", "medical_transfer.v3.yaml"):
        (target / name).unlink()
    return target


def load_average() -> str:
    """The machine's load (1, 5, 15 minutes) as figures are taken: the 2 cores are shared."""
    try:
        return "load average " + " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "load average unknown"


def sqlite_durability(con: sqlite3.Connection | object) -> str:
    """``journal_mode``, ``synchronous`` and ``foreign_keys`` read back from a connection."""
    execute = con.execute if isinstance(con, sqlite3.Connection) else con.exec_driver_sql
    values = [execute(f"PRAGMA {p}").fetchone()[0]
              for p in ("journal_mode", "synchronous", "foreign_keys")]
    return "journal_mode={}, synchronous={}, foreign_keys={}".format(*values)
