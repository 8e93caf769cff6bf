"""Peer race, the floor: a bare ``sqlite3`` loop on the minimal schema (no library)."""

from __future__ import annotations

import sqlite3

from _race import DATES, SCHEMA, STEPS, Clock, args, now, pragmas_of, report, set_pragmas


def main() -> None:
    path, n = args()
    con = sqlite3.connect(path, isolation_level=None)
    set_pragmas(con)
    con.executescript(SCHEMA)
    con.execute("BEGIN")
    con.executemany("INSERT INTO wf_case (id, state, version) VALUES (?, 'applied', 1)",
                    [(i,) for i in range(1, n + 1)])
    con.execute("COMMIT")
    allowed = {trigger: source for trigger, source, _ in STEPS}
    with Clock() as clock:
        for case_id in range(1, n + 1):
            for (trigger, _, target), day in zip(STEPS, DATES, strict=True):
                con.execute("BEGIN")
                state, version = con.execute(
                    "SELECT state, version FROM wf_case WHERE id = ?", (case_id,)).fetchone()
                assert allowed[trigger] == state
                cur = con.execute("UPDATE wf_case SET state = ?, version = ? "
                                  "WHERE id = ? AND version = ?",
                                  (target, version + 1, case_id, version))
                assert cur.rowcount == 1
                con.execute("INSERT INTO wf_history (case_id, seq, trigger, from_state, to_state, "
                            "actor, business_date, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            (case_id, version + 1, trigger, state, target, "c-12",
                             day.isoformat(), now()))
                con.execute("COMMIT")
    report("bare sqlite3 loop", n * len(STEPS), clock.seconds, pragmas_of(con))


if __name__ == "__main__":
    main()
