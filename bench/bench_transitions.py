"""1. Transition throughput on a SQLite file: engine.fire against plain sqlite3.

The baseline runs exactly the engine's statements for a ``reject`` step (the same SELECT of the
case's columns, version-checked UPDATE, history INSERT, span UPDATE, the UPDATE resolving the
ended spans' open alerts (none here) and outbox event INSERT, one transaction each) with plain
``sqlite3`` on the engine's own tables and indexes, with the engine's pragmas (WAL,
``synchronous=NORMAL``, ``foreign_keys=ON``, ``busy_timeout``), read back and printed for both
sides. The engine runs the definitions before the papers' versions (a ``reject`` of
pension_transfer 2 also prints a refusal explanation, which the baseline does not). Interleaved,
3 repetitions (or argv[2]), median and range of the ratio.
Goal (issues 9 and 22): the engine reaches at least 0.65 of the plain rate.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import sys
import tempfile
import uuid
from pathlib import Path

from common import (
    DOCS,
    definitions_before_papers,
    goal_line,
    header,
    median_range,
    people,
    sqlite_durability,
    timed,
)

from workflow import Actor, Engine

N = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
REPS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
D = dt.date(2025, 10, 9)
CLERK = Actor("c-1", "destination_clerk", "440300")
# The columns the engine reads for a step (all but the timestamps it rewrites).
DEFINITIONS = definitions_before_papers(Path(tempfile.mkdtemp(prefix="bench-defs-")))
COLUMNS = ("id, definition_name, definition_version, insurance, state, version, person_id, "
           "person_name, origin, destination, scope, applicant, applicant_id, channel, "
           "origin_scheme, destination_scheme, documents, requested_documents, opened_on, "
           "last_event_on, amount_fen, contribution_months")


def plain(path: Path, n: int) -> tuple[float, str]:
    """The engine's statements for each step, on its own tables, written with plain sqlite3."""
    opened(path, n).close()
    con = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "busy_timeout=10000", "foreign_keys=ON",
                   "synchronous=NORMAL"):
        con.execute(f"PRAGMA {pragma}")
    with timed() as t:
        for i in range(1, n + 1):
            con.execute("BEGIN")
            row = con.execute(f"SELECT {COLUMNS} FROM transfer_case WHERE id = ?",
                              (i,)).fetchone()
            state, version, documents = row[4], row[5], json.loads(row[16])
            now = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(" ")
            cur = con.execute(
                "UPDATE transfer_case SET state=?, version=?, documents=?, requested_documents=?, "
                "last_event_on=?, updated_at=? WHERE transfer_case.id = ? AND "
                "transfer_case.version = ?",
                ("rejected", version + 1, json.dumps(documents), "[]", D.isoformat(), now, i,
                 version))
            assert cur.rowcount == 1
            con.execute(
                'INSERT INTO case_history (seq, "trigger", from_state, to_state, actor_id, '
                "actor_role, actor_agency, business_date, recorded_at, documents, comment, "
                "inputs, case_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (version + 1, "reject", state, "rejected", "c-1", "destination_clerk", "440300",
                 D.isoformat(), now, "[]", "incomplete", "{}", i))
            con.execute("UPDATE span SET ended_on=? WHERE span.case_id = ? AND "
                        "span.ended_on IS NULL", (D.isoformat(), i))
            con.execute("UPDATE alert SET resolved_on = ?, resolution = ? WHERE case_id = ? "
                        "AND resolved_on IS NULL AND span_id IN (SELECT id FROM span "
                        "WHERE case_id = ? AND ended_on IS NOT NULL)",
                        (D.isoformat(), "span_ended", i, i))
            con.execute(
                "INSERT INTO outbox_event (event_id, name, case_id, business_date, occurred_at, "
                "paper_id, data, fanned_out, state, messages) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (uuid.uuid4().hex, "case.rejected", i, D.isoformat(), now, None,
                 json.dumps({"reason": "incomplete"}), 0, "pending", 0))
            con.execute("COMMIT")
    durability = sqlite_durability(con)
    con.close()
    return n / t["seconds"], durability


def opened(path: Path, n: int) -> Engine:
    """An engine database with ``n`` cases just opened (one running span each)."""
    engine = Engine(f"sqlite:///{path}", definitions=DEFINITIONS)
    engine.open_cases([dict(
        definition="pension_transfer", person_id=person, person_name="张三",
        origin="310000", destination="440300", applicant="employer", documents=DOCS,
        on=dt.date(2025, 9, 26)) for person in people(n)], actor=CLERK)
    return engine


def engine_rate(path: Path, n: int) -> tuple[float, str]:
    engine = opened(path, n)
    with timed() as t:
        for case_id in range(1, n + 1):
            engine.fire(case_id, "reject", actor=CLERK, on=D, explanation="incomplete")
    with engine.db.connect() as conn:
        durability = sqlite_durability(conn)
    engine.close()
    return n / t["seconds"], durability


def main() -> None:
    header(f"1. transition throughput, SQLite file, {N} transitions, {REPS} repetitions, "
           "interleaved")
    print(f"command: cd bench && ../.venv/bin/python bench_transitions.py {N} {REPS}")
    bases, rates = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(REPS):  # alternated, so both see the same state of the disk
            sides = [("plain", plain), ("engine", engine_rate)]
            for name, side in sides if run % 2 == 0 else sides[::-1]:
                rate, durability = side(Path(tmp) / f"{name}{run}.db", N)
                (bases if name == "plain" else rates).append(rate)
                if run == 0:
                    print(f"{name}: {durability}")
    print(f"{'plain sqlite3, the same statements (baseline)':<58} {median_range(bases)} tr/s")
    print(f"{'engine.fire':<58} {median_range(rates)} tr/s")
    goal_line("engine.fire / plain sqlite3", [r / b for r, b in zip(rates, bases, strict=True)],
              0.65)


if __name__ == "__main__":
    main()
