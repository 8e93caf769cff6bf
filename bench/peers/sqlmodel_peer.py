"""Peer race: SQLModel alone; the allowed steps are a dict, each step is one ORM session
(get the case, check, change its state, add a history row, commit)."""

from __future__ import annotations

from _orm import WfCase, WfHistory, database, pragmas
from _race import DATES, STEPS, Clock, args, now, report
from sqlmodel import Session


def main() -> None:
    path, n = args()
    engine = database(path, n)
    allowed = {trigger: (source, target) for trigger, source, target in STEPS}
    with Clock() as clock:
        for case_id in range(1, n + 1):
            for (trigger, _, _), day in zip(STEPS, DATES, strict=True):
                with Session(engine) as session:
                    case = session.get(WfCase, case_id)
                    source, target = allowed[trigger]
                    assert case.state == source
                    case.state, case.version = target, case.version + 1
                    session.add(WfHistory(case_id=case_id, seq=case.version, trigger=trigger,
                                          from_state=source, to_state=target, actor="c-12",
                                          business_date=day.isoformat(), recorded_at=now()))
                    session.commit()
    report("SQLModel alone", n * len(STEPS), clock.seconds, pragmas(engine))


if __name__ == "__main__":
    main()
