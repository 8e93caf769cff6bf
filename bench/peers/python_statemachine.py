"""Peer race: ``python-statemachine``, persisted in the minimal schema with plain ``sqlite3``
(the library keeps state on a model object; storing it is the application's job, done here
the cheapest way).

One machine is built once on one model object (building a machine per step, the
library's way to restore one, costs about 0.7 ms more per step); the machine reads and
writes the model's ``state``. Each step: read the case, put its stored state on the model,
send the event (refused if not allowed from that state), write the new state
(version-checked) and a history row, commit.
"""

from __future__ import annotations

from _race import DATES, STEPS, Clock, args, open_plain, pragmas_of, record_step, report
from statemachine import State, StateMachine


class TransferMachine(StateMachine):
    # "continued" is the end of a case but not final=True: a final state stops the machine,
    # and this one machine serves every case.
    validate_trap_states = False
    validate_final_reachability = False

    applied = State(initial=True)
    reviewed = State()
    letter_sent = State()
    funds_moved = State()
    continued = State()

    review = applied.to(reviewed)
    send_letter = reviewed.to(letter_sent)
    move_funds = letter_sent.to(funds_moved)
    continue_relationship = funds_moved.to(continued)


class Transfer:
    def __init__(self, state: str) -> None:
        self.state = state


def main() -> None:
    path, n = args()
    con = open_plain(path, [(i,) for i in range(1, n + 1)])
    model = Transfer("applied")
    machine = TransferMachine(model)
    with Clock() as clock:
        for case_id in range(1, n + 1):
            for (trigger, _, _), day in zip(STEPS, DATES, strict=True):
                con.execute("BEGIN")
                state, version = con.execute(
                    "SELECT state, version FROM wf_case WHERE id = ?", (case_id,)).fetchone()
                model.state = state
                machine.send(trigger)
                cur = con.execute("UPDATE wf_case SET state = ?, version = ? "
                                  "WHERE id = ? AND version = ?",
                                  (model.state, version + 1, case_id, version))
                assert cur.rowcount == 1
                record_step(con, case_id, version + 1, trigger, state, model.state, day)
                con.execute("COMMIT")
    report("python-statemachine", n * len(STEPS), clock.seconds, pragmas_of(con))


if __name__ == "__main__":
    main()
