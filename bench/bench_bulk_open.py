"""4. Bulk opening: engine.open_cases against plain sqlite3 inserting the same rows.

Every application is validated as a single opening is (ID number check digit, agencies,
documents, permissions); the baseline inserts the same rows (read back from the engine's
database: cases, opening history rows, spans, ``case.opened`` outbox events) with plain
``sqlite3`` executemany and no checks, with the engine's pragmas (read
back and printed). Interleaved, 3 repetitions (or argv[2]), median and range.
Goals: at least 20,000 cases/s (issue 9) and at least 0.6 of the baseline (issue 22).
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
import sys
import tempfile
from pathlib import Path

from common import (
    AGENCIES,
    DOCS,
    goal_line,
    header,
    median_range,
    people,
    sqlite_durability,
    timed,
)

from workflow import Actor, Engine

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
REPS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
CLERK = Actor("c-1", "destination_clerk", "440300")


# Medical insurance since 2021 (medical_transfer v2) records the scheme at each end.
SCHEMES = {"pension_transfer": {},
           "medical_transfer": {"origin_scheme": "urban_employee",
                                "destination_scheme": "urban_employee"}}


def applications(n: int) -> list[dict]:
    rng = random.Random(4)
    ids = people(n, seed=4)  # one running transfer per person and insurance
    return [dict(definition=(name := rng.choice(["pension_transfer", "medical_transfer"])),
                 person_id=ids[i], person_name=f"申请人{i}",
                 origin=rng.choice([a for a in AGENCIES if a != "440300"]),
                 destination="440300", applicant="employer", channel="counter",
                 documents=DOCS, on=dt.date(2025, 9, 1) + dt.timedelta(days=i % 300),
                 **SCHEMES[name])
            for i in range(n)]


def plain(path: Path, engine_rows: tuple[list[tuple], ...]) -> tuple[float, str]:
    Engine(f"sqlite:///{path}").close()
    con = sqlite3.connect(path)
    for pragma in ("journal_mode=WAL", "busy_timeout=10000", "foreign_keys=ON",
                   "synchronous=NORMAL"):
        con.execute(f"PRAGMA {pragma}")
    cases, history, spans, events = engine_rows
    with timed() as t:
        con.executemany(f"INSERT INTO transfer_case VALUES ({','.join('?' * len(cases[0]))})",
                        cases)
        con.executemany(f"INSERT INTO case_history VALUES ({','.join('?' * len(history[0]))})",
                        history)
        con.executemany(f"INSERT INTO span VALUES ({','.join('?' * len(spans[0]))})", spans)
        con.executemany(f"INSERT INTO outbox_event VALUES ({','.join('?' * len(events[0]))})",
                        events)
        con.commit()
    durability = sqlite_durability(con)
    con.close()
    return len(cases) / t["seconds"], durability


def engine_rate(path: Path, apps: list[dict]) -> tuple[float, str, tuple[list[tuple], ...]]:
    engine = Engine(f"sqlite:///{path}")
    with timed() as t:
        ids = engine.open_cases(apps, actor=CLERK)
    with engine.db.connect() as conn:
        durability = sqlite_durability(conn)
    engine.close()
    con = sqlite3.connect(path)
    rows = tuple(con.execute(f"SELECT * FROM {table}").fetchall()
                 for table in ("transfer_case", "case_history", "span", "outbox_event"))
    con.close()
    return len(ids) / t["seconds"], durability, rows


def main() -> None:
    header(f"4. bulk opening of {N:,} cases (SQLite), {REPS} repetitions, interleaved")
    print(f"command: cd bench && ../.venv/bin/python bench_bulk_open.py {N} {REPS}")
    apps = applications(N)
    bases, rates = [], []
    with tempfile.TemporaryDirectory() as tmp:
        rate, durability, rows = engine_rate(Path(tmp) / "engine-rows.db", apps)
        print(f"engine: {durability}")
        for run in range(REPS):
            sides = ["engine", "plain"] if run % 2 == 0 else ["plain", "engine"]
            for side in sides:
                if side == "engine":
                    rate, _, _ = engine_rate(Path(tmp) / f"engine{run}.db", apps)
                    rates.append(rate)
                else:
                    base, durability = plain(Path(tmp) / f"plain{run}.db", rows)
                    bases.append(base)
                    if run == 0:
                        print(f"plain: {durability}")
    print(f"{'plain sqlite3 executemany of the same rows (baseline)':<58} "
          f"{median_range(bases)} cases/s")
    print(f"{'engine.open_cases (validated)':<58} {median_range(rates)} cases/s")
    goal_line("engine.open_cases, cases/s / 20,000", [r / 20_000 for r in rates], 1.0)
    goal_line("engine.open_cases / plain executemany",
              [r / b for r, b in zip(rates, bases, strict=True)], 0.6)


if __name__ == "__main__":
    main()
