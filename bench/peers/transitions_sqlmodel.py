"""Peer race: the ``transitions`` state machine, persisted with SQLModel.

One machine (built once, as the engine builds one per definition); each step is one ORM
session: get the case, attach a model at the stored state, fire the trigger (the machine
refuses a step not allowed), write the new state and a history row, commit.
"""

from __future__ import annotations

from _orm import WfCase, WfHistory, database, pragmas
from _race import DATES, STATES, STEPS, Clock, args, now, report
from sqlmodel import Session
from transitions import Machine


class Transfer:
    """The model the machine drives; its ``state`` is copied from and to the row."""


def main() -> None:
    path, n = args()
    engine = database(path, n)
    machine = Machine(model=None, states=STATES, initial="applied", auto_transitions=False,
                      transitions=[{"trigger": t, "source": s, "dest": d} for t, s, d in STEPS])
    with Clock() as clock:
        for case_id in range(1, n + 1):
            for (trigger, _, _), day in zip(STEPS, DATES, strict=True):
                with Session(engine) as session:
                    case = session.get(WfCase, case_id)
                    model = Transfer()
                    machine.add_model(model, initial=case.state)
                    source = model.state
                    assert model.trigger(trigger)
                    machine.remove_model(model)
                    case.state, case.version = model.state, case.version + 1
                    session.add(WfHistory(case_id=case_id, seq=case.version, trigger=trigger,
                                          from_state=source, to_state=model.state, actor="c-12",
                                          business_date=day.isoformat(), recorded_at=now()))
                    session.commit()
    report("transitions + SQLModel", n * len(STEPS), clock.seconds, pragmas(engine))


if __name__ == "__main__":
    main()
