"""1. Transition throughput on a SQLite file: engine.fire against plain sqlite3.

The baseline does the same row writes per transition with plain sqlite3, in the engine's own
tables and indexes, one transaction each: select the case, version-checked update, history
insert, span update.
Target: the engine reaches at least 30 % of the plain rate.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import sys
import tempfile
from pathlib import Path

from common import DOCS, figure, header, timed

from workflow import Actor, Engine

N = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
D = dt.date(2025, 10, 9)
CLERK = Actor("c-1", "destination_clerk", "440300")


def plain(path: Path, n: int) -> float:
    """The same rows, in the engine's own tables and indexes, written with plain sqlite3."""
    opened(path, n).close()
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    with timed() as t:
        for i in range(1, n + 1):
            con.execute("BEGIN")
            state, version, documents = con.execute(
                "SELECT state, version, documents FROM transfer_case WHERE id = ?", (i,)).fetchone()
            now = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(" ")
            cur = con.execute(
                "UPDATE transfer_case SET state = 'rejected', version = ?, documents = ?, "
                "requested_documents = '[]', last_event_on = ?, updated_at = ? "
                "WHERE id = ? AND version = ?",
                (version + 1, documents, D.isoformat(), now, i, version))
            assert cur.rowcount == 1
            con.execute(
                "INSERT INTO case_history (case_id, seq, trigger, from_state, to_state, actor_id, "
                "actor_role, actor_agency, business_date, recorded_at, documents, comment, inputs) "
                "VALUES (?, ?, 'reject', ?, 'rejected', 'c-1', 'destination_clerk', '440300', ?, "
                "?, '[]', 'incomplete', '{}')", (i, version + 1, state, D.isoformat(), now))
            con.execute("UPDATE span SET ended_on = ? WHERE case_id = ? AND ended_on IS NULL",
                        (D.isoformat(), i))
            con.execute("COMMIT")
    con.close()
    return n / t["seconds"]


def opened(path: Path, n: int) -> Engine:
    """An engine database with ``n`` cases just opened (one running span each)."""
    engine = Engine(f"sqlite:///{path}")
    engine.open_cases([dict(
        definition="pension_transfer", person_id="11010519491231002X", person_name="张三",
        origin="310000", destination="440300", applicant="employer", documents=DOCS,
        on=dt.date(2025, 9, 26)) for _ in range(n)], actor=CLERK)
    return engine


def engine_rate(path: Path, n: int) -> float:
    engine = opened(path, n)
    with timed() as t:
        for case_id in range(1, n + 1):
            engine.fire(case_id, "reject", actor=CLERK, on=D, explanation="incomplete")
    engine.close()
    return n / t["seconds"]


def main() -> None:
    header(f"1. transition throughput, SQLite file, {N} transitions, best of 3 each")
    bases, rates = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(3):  # alternated, so both see the same state of the disk
            bases.append(plain(Path(tmp) / f"plain{run}.db", N))
            rates.append(engine_rate(Path(tmp) / f"engine{run}.db", N))
    figure("plain sqlite3 (baseline)", max(bases), "transitions/s")
    figure("engine.fire", max(rates), "transitions/s", baseline=max(bases),
           target="target: ratio >= 0.30")


if __name__ == "__main__":
    main()
