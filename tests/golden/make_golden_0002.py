"""How ``sstransfer-0002.db`` was made (kept for the record; do not run it again).

The golden database is a SQLite file written by the engine at schema revision 0002 (commit
6fbae1d, before any later migration), with cases in every state of both shipped
definitions (pension_transfer v1, medical_transfer v1), a completed scan with alerts, an
alert subscriber with deliveries, and an idempotency key. ``tests/test_golden.py`` copies it,
upgrades it with today's engine and runs its cases on: every future migration must keep it
working. Regenerating it with a newer engine would defeat its purpose.
"""

from __future__ import annotations

import datetime as dt
import sys
from decimal import Decimal
from pathlib import Path

from workflow import Actor, Engine

PERSON = "11010519491231002X"
ORIGIN, DESTINATION = "310000", "440300"
EMPLOYER = Actor(id="hr-7", role="employer")
DEST = Actor(id="c-12", role="destination_clerk", agency=DESTINATION)
ORIG = Actor(id="o-3", role="origin_clerk", agency=ORIGIN)
MANUAL = {"pension_transfer": "endowment_manual", "medical_transfer": "medical_insurance_card"}
# (state to reach, triggers to fire after opening, each with its inputs)
PATHS: dict[str, list[tuple[str, dict]]] = {
    "applied": [],
    "awaiting_documents": [("request_documents", {"documents_needed": ["id_card"]})],
    "reviewed": [("review", {})],
    "letter_sent": [("review", {}), ("send_letter", {})],
    "funds_moved": [("review", {}), ("send_letter", {}),
                    ("move_funds", {"documents": ["information_form"], "amount": Decimal("8123.45")})],
    "continued": [("review", {}), ("send_letter", {}),
                  ("move_funds", {"documents": ["information_form"], "amount": Decimal("12345.60")}),
                  ("continue_relationship", {"contribution_months": 126})],
    "rejected": [("reject", {"explanation": "材料不全"})],
    "withdrawn": [("withdraw", {})],
}
ACTOR_OF = {"request_documents": DEST, "review": DEST, "send_letter": DEST, "reject": DEST,
            "move_funds": ORIG, "continue_relationship": DEST, "withdraw": EMPLOYER}


def main(target: Path) -> None:
    if target.exists():
        sys.exit(f"{target} exists; the golden database is made once")
    with Engine(f"sqlite:///{target}") as engine:
        engine.on_alert(lambda alert: None, name="golden-subscriber")
        opened = dt.date(2026, 3, 2)
        for definition in ("pension_transfer", "medical_transfer"):
            for applicant in ("employer", "self"):
                for state, steps in PATHS.items():
                    actor = EMPLOYER if applicant == "employer" else Actor(id="p-1", role="self")
                    case = engine.open_case(
                        definition, person_id=PERSON, person_name="张三", origin=ORIGIN,
                        destination=DESTINATION, applicant=applicant, channel="counter",
                        documents=["application_form", "id_card", "payment_voucher",
                                   MANUAL[definition], "employment_certificate"],
                        actor=actor, on=opened)
                    day = opened
                    for trigger, inputs in steps:
                        day += dt.timedelta(days=7)
                        who = actor if trigger == "withdraw" else ACTOR_OF[trigger]
                        engine.fire(case.id, trigger, actor=who, on=day,
                                    idempotency_key=f"golden-{case.id}-{trigger}", **inputs)
                    assert engine.get(case.id).state == state
        engine.scan(dt.date(2026, 6, 1))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
