"""4. Bulk opening: engine.open_cases against plain sqlite3 inserting the same rows.

Every application is validated as a single opening is (ID number check digit, agencies,
documents, permissions); the baseline inserts the prepared rows with executemany and no
checks. Target: at least 20,000 cases per second into SQLite.
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
import sys
import tempfile
from pathlib import Path

from common import AGENCIES, DOCS, figure, header, timed

from workflow import Actor, Engine
from workflow.demo import person_id

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
CLERK = Actor("c-1", "destination_clerk", "440300")


# Medical insurance since 2021 (medical_transfer v2) records the scheme at each end.
SCHEMES = {"pension_transfer": {},
           "medical_transfer": {"origin_scheme": "urban_employee",
                                "destination_scheme": "urban_employee"}}


def applications(n: int) -> list[dict]:
    rng = random.Random(4)
    ids = [person_id(rng) for _ in range(2000)]
    return [dict(definition=(name := rng.choice(["pension_transfer", "medical_transfer"])),
                 person_id=ids[i % 2000], person_name=f"申请人{i}",
                 origin=rng.choice([a for a in AGENCIES if a != "440300"]),
                 destination="440300", applicant="employer", channel="counter",
                 documents=DOCS, on=dt.date(2025, 9, 1) + dt.timedelta(days=i % 300),
                 **SCHEMES[name])
            for i in range(n)]


def plain(path: Path, engine_rows: list[tuple]) -> float:
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    cases, history, spans = engine_rows
    with timed() as t:
        con.executemany(f"INSERT INTO transfer_case VALUES ({','.join('?' * len(cases[0]))})",
                        cases)
        con.executemany(f"INSERT INTO case_history VALUES ({','.join('?' * len(history[0]))})",
                        history)
        con.executemany(f"INSERT INTO span VALUES ({','.join('?' * len(spans[0]))})", spans)
        con.commit()
    con.close()
    return len(cases) / t["seconds"]


def main() -> None:
    header(f"4. bulk opening of {N:,} cases (SQLite)")
    apps = applications(N)
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(f"sqlite:///{Path(tmp) / 'engine.db'}")
        with timed() as t:
            ids = engine.open_cases(apps, actor=CLERK)
        rate = len(ids) / t["seconds"]
        engine.close()
        con = sqlite3.connect(Path(tmp) / "engine.db")
        rows = tuple(con.execute(f"SELECT * FROM {table}").fetchall()
                     for table in ("transfer_case", "case_history", "span"))
        con.close()
        Engine(f"sqlite:///{Path(tmp) / 'plain.db'}").close()
        base = plain(Path(tmp) / "plain.db", rows)
    figure("plain sqlite3 executemany of the same rows (baseline)", base, "cases/s")
    figure("engine.open_cases (validated)", rate, "cases/s", baseline=base,
           target="target: >= 20,000 cases/s")


if __name__ == "__main__":
    main()
