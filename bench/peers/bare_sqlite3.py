"""Peer race, the floor: a bare ``sqlite3`` loop on the minimal schema (no library)."""

from __future__ import annotations

from _race import DATES, STEPS, Clock, args, open_plain, pragmas_of, record_step, report


def main() -> None:
    path, n = args()
    con = open_plain(path, [(i,) for i in range(1, n + 1)])
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
                record_step(con, case_id, version + 1, trigger, state, target, day)
                con.execute("COMMIT")
    report("bare sqlite3 loop", n * len(STEPS), clock.seconds, pragmas_of(con))


if __name__ == "__main__":
    main()
