"""Peer race: sstransfer's Engine, ``engine.fire`` for the four steps of a pension transfer.

``python sstransfer_engine.py DB_FILE CASES default|dropped``: ``default`` leaves logging as
a host that never configured it has it (sstransfer's events go to the standard ``logging``
module, which shows nothing below a warning: nothing is rendered); ``dropped`` sets the
``sstransfer`` logger to CRITICAL. (Before issue 21, ``default`` rendered every event to
stdout with structlog's default configuration.)
Run with the project's own virtual environment. The cases are opened with
``engine.open_cases`` (not timed); each ``fire`` reads the case, checks role, agency,
documents and inputs, writes the case, the history row, the spans, the outbox event and a log
event, in one transaction. The engine runs the definitions before the papers' versions (as
the test suite does): pension_transfer 2 would also print a paper (HTML) at three of the four
steps, which no peer does.
"""

from __future__ import annotations

import logging
import random
import shutil
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

from _race import DATES, STEPS, Clock, args, pragmas_of, report

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


from workflow import Actor, Engine
from workflow.demo import person_id

DOCS = ["application_form", "id_card", "payment_voucher", "endowment_manual",
        "employment_certificate"]
CLERK = Actor("c-12", "destination_clerk", "440300")
ORIGIN = Actor("o-3", "origin_clerk", "310000")
INPUTS = {"review": {}, "send_letter": {},
          "move_funds": {"documents": ["information_form"], "amount": Decimal("12345.60")},
          "continue_relationship": {"contribution_months": 126}}


def definitions_before_papers() -> Path:
    """The shipped definitions without pension_transfer 2 and medical_transfer 3."""
    target = Path(tempfile.mkdtemp(prefix="race-defs-")) / "definitions"
    shutil.copytree(Path(__file__).resolve().parents[2] / "definitions", target)
    for name in ("pension_transfer.v2.yaml", "medical_transfer.v3.yaml"):
        (target / name).unlink()
    return target


def people(n: int) -> list[str]:
    """``n`` distinct made-up ID numbers: a person has one running transfer of an insurance."""
    rng, found = random.Random(7), dict[str, None]()
    while len(found) < n:
        found[person_id(rng)] = None
    return list(found)


def main() -> None:
    path, n = args()
    logs = sys.argv[3]
    if logs == "dropped":
        logging.getLogger("sstransfer").setLevel(logging.CRITICAL)
    else:
        assert logs == "default", logs
    engine = Engine(f"sqlite:///{path}", definitions=definitions_before_papers())
    ids = engine.open_cases([dict(
        definition="pension_transfer", person_id=person, person_name="张三",
        origin="310000", destination="440300", applicant="employer", documents=DOCS,
        on=DATES[0].replace(day=1)) for person in people(n)], actor=CLERK)
    with Clock() as clock:
        for case_id in ids:
            for (trigger, _, _), day in zip(STEPS, DATES, strict=True):
                engine.fire(case_id, trigger, on=day, **INPUTS[trigger],
                            actor=ORIGIN if trigger == "move_funds" else CLERK)
    assert engine.get(ids[-1]).state == "continued"
    with engine.db.connect() as conn:
        pragmas = pragmas_of(conn.connection.dbapi_connection)
    report(f"sstransfer, logs {logs}", n * len(STEPS), clock.seconds, pragmas)


if __name__ == "__main__":
    main()
