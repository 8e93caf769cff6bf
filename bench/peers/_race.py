"""What every peer script of the race shares: the four steps, the durability, the minimal
schema, and the one JSON line each prints.

Every script runs as a fresh process: ``python SCRIPT DB_FILE CASES``. It prepares CASES
cases in the ``applied`` state (not timed), then times CASES × 4 transitions, case after case:
review, send_letter, move_funds, continue_relationship (applied → reviewed → letter_sent →
funds_moved → continued). Each transition reads the case, checks the step is allowed from its
state, writes the new state (version-checked) and one history row, and commits: one
transaction per transition, on a SQLite file with the engine's pragmas (workflow/store.py,
connect()).
"""

from __future__ import annotations

import datetime as dt
import json
import resource
import sqlite3
import sys
import time

STEPS = [("review", "applied", "reviewed"), ("send_letter", "reviewed", "letter_sent"),
         ("move_funds", "letter_sent", "funds_moved"),
         ("continue_relationship", "funds_moved", "continued")]
STATES = ["applied", "reviewed", "letter_sent", "funds_moved", "continued"]
DATES = [dt.date(2025, 10, 9), dt.date(2025, 10, 10), dt.date(2025, 10, 20), dt.date(2025, 10, 30)]
# The engine's own (workflow/store.py connect()): the same on every side of the race.
PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA busy_timeout=10000", "PRAGMA foreign_keys=ON",
           "PRAGMA synchronous=NORMAL")
SCHEMA = """
CREATE TABLE IF NOT EXISTS wf_case (
    id INTEGER PRIMARY KEY, state TEXT NOT NULL, version INTEGER NOT NULL, data TEXT);
CREATE TABLE IF NOT EXISTS wf_history (
    id INTEGER PRIMARY KEY, case_id INTEGER NOT NULL REFERENCES wf_case (id),
    seq INTEGER NOT NULL, trigger TEXT NOT NULL, from_state TEXT NOT NULL,
    to_state TEXT NOT NULL, actor TEXT NOT NULL, business_date TEXT NOT NULL,
    recorded_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS ix_wf_history_case ON wf_history (case_id);
"""


def args() -> tuple[str, int]:
    return sys.argv[1], int(sys.argv[2])


def set_pragmas(dbapi_conn) -> None:
    """Run on every new DB-API connection (an SQLAlchemy "connect" listener, or directly)."""
    cur = dbapi_conn.cursor()
    for pragma in PRAGMAS:
        cur.execute(pragma)
    cur.close()


def pragmas_of(dbapi_conn) -> dict[str, object]:
    """What the connection that did the work actually runs with."""
    cur = dbapi_conn.cursor()
    got = {p: cur.execute(f"PRAGMA {p}").fetchone()[0]
           for p in ("journal_mode", "synchronous", "foreign_keys")}
    cur.close()
    return got


def now() -> str:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(" ")


def open_plain(path: str, cases: list[tuple[object, ...]], columns: str = "id") -> sqlite3.Connection:
    """A plain ``sqlite3`` connection (autocommit, the race's pragmas) on the minimal schema,
    with ``cases`` inserted in state ``applied``, version 1 (``columns`` besides those)."""
    con = sqlite3.connect(path, isolation_level=None)
    set_pragmas(con)
    con.executescript(SCHEMA)
    marks = ", ".join("?" * len(columns.split(",")))
    con.execute("BEGIN")
    con.executemany(f"INSERT INTO wf_case ({columns}, state, version) "
                    f"VALUES ({marks}, 'applied', 1)", cases)
    con.execute("COMMIT")
    return con


def record_step(con: sqlite3.Connection, case_id: int, seq: int, trigger: str, source: str,
                target: str, day: dt.date) -> None:
    """The history row of one step, as every plain-``sqlite3`` side writes it."""
    con.execute("INSERT INTO wf_history (case_id, seq, trigger, from_state, to_state, actor, "
                "business_date, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (case_id, seq, trigger, source, target, "c-12", day.isoformat(), now()))


class Clock:
    def __enter__(self) -> Clock:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


def vm_hwm_mb() -> float | None:
    """Linux's peak resident memory of this program alone: ``VmHWM`` starts afresh at exec,
    while ``ru_maxrss`` starts at the forking parent's peak (a floor the driver prints)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def report(peer: str, transitions: int, seconds: float, pragmas: dict, **extra: object) -> None:
    """The one line the driver reads (the last line on stdout)."""
    sys.stdout.flush()
    print(json.dumps({
        "peer": peer, "transitions": transitions, "seconds": round(seconds, 4),
        "transitions_per_s": round(transitions / seconds, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "vm_hwm_mb": vm_hwm_mb(),
        "pragmas": pragmas, **extra}), flush=True)
