"""One running transfer per person and insurance (issue 20).

Seed 000: "after the insured establishes the basic old-age insurance relationship in the new
employment place ..., the employer submits a written application for the transfer and
continuation of the basic old-age insurance relationship" — one relationship moves to one new
place at a time; and "the transfer of pension insurance relationship is handled by social
security bureau, and the transfer of medical insurance relationship is handled by medical
insurance bureau. These are two different departments" — a pension and a medical transfer of
one person are two cases, both allowed.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import (
    APPLICANT,
    DEST_CLERK,
    DESTINATION,
    ORIGIN,
    OTHER_PERSON_ID,
    PERSON_ID,
    RECEIVED,
    SCHEMES,
    full_documents,
    open_case,
    refused,
)
from workflow import Engine, InvalidRow, TransferAlreadyRunning, store


def test_a_second_running_transfer_of_the_same_insurance_is_refused_naming_the_running_case(
        engine):
    """Seed 000: "the employer submits a written application for the transfer and continuation
    of the basic old-age insurance relationship": a person's pension moves to one place at a
    time. A second running pension transfer is refused, naming the running case by its public
    number, state and agencies (never the ID number), and nothing is written."""
    running = open_case(engine)
    err = refused(engine, TransferAlreadyRunning, open_case, engine, origin="110000",
                  destination="330100")
    assert (err.public_number, err.state, err.origin, err.destination) == (
        running.public_number, "applied", ORIGIN, DESTINATION)
    assert running.public_number in str(err) and "'applied'" in str(err)
    assert ORIGIN in str(err) and DESTINATION in str(err) and PERSON_ID not in str(err)


def test_a_pension_and_a_medical_case_of_one_person_stay_allowed_and_linked(engine):
    """Seed 000: "These are two different departments": the same person's pension and medical
    transfers run side by side, each its own case, linked by the person."""
    pension = open_case(engine)
    medical = open_case(engine, "medical_transfer")
    assert pension.person_id == medical.person_id and pension.id != medical.id
    assert {c.insurance for c in engine.cases(person_id=PERSON_ID)} == {"pension", "medical"}


def test_a_new_transfer_of_the_same_insurance_opens_once_the_running_one_has_ended(engine):
    """Only a running transfer blocks: once it is withdrawn (a final state), the person's next
    transfer of that insurance opens."""
    first = open_case(engine)
    engine.fire(first.id, "withdraw", actor=APPLICANT, on=RECEIVED)
    second = open_case(engine, destination="330100")
    assert second.state == "applied" and second.id != first.id


@pytest.mark.parametrize("contenders", [4])
def test_two_openings_at_once_one_wins_the_other_gets_the_refusal(db_url, schema_copy,
                                                                   contenders):
    """Race-safe in the database: several engines (as separate processes would, each with
    its own connections) open the same person's pension transfer at the same moment; exactly
    one case is written and every other call gets the refusal."""
    url = schema_copy(db_url)
    Engine(url).close()  # the schema, made once
    engines = [Engine(url) for _ in range(contenders)]
    start = threading.Barrier(contenders)
    outcomes: list[object] = [None] * contenders

    def opening(n: int) -> None:
        start.wait()
        try:
            outcomes[n] = open_case(engines[n])
        except Exception as exc:  # noqa: BLE001 - the outcome is asserted below
            outcomes[n] = exc

    threads = [threading.Thread(target=opening, args=(n,)) for n in range(contenders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        won = [o for o in outcomes if not isinstance(o, Exception)]
        lost = [o for o in outcomes if isinstance(o, Exception)]
        assert len(won) == 1, outcomes
        assert all(isinstance(e, TransferAlreadyRunning) for e in lost), lost
        assert all(e.public_number == won[0].public_number for e in lost)  # type: ignore[union-attr]
        assert len(engines[0].cases(person_id=PERSON_ID)) == 1
    finally:
        for e in engines:
            e.close()


def _application(person_id: str, **overrides) -> dict:
    return {"definition": "pension_transfer", "person_id": person_id, "person_name": "张三",
            "origin": ORIGIN, "destination": DESTINATION, "applicant": "employer",
            "documents": full_documents("pension_transfer"), "on": RECEIVED, **overrides}


def test_bulk_import_refuses_the_line_of_a_person_twice_in_one_file(engine):
    """A batch with the same person's pension twice is refused at the second one's line,
    naming the line of the first, and writes nothing (as for any bad line)."""
    err = refused(engine, InvalidRow, engine.open_cases,
                  [_application(PERSON_ID), _application(OTHER_PERSON_ID),
                   _application(PERSON_ID, origin="110000")],
                  actor=DEST_CLERK, first_line=2)
    assert err.line == 4 and isinstance(err.error, TransferAlreadyRunning)
    assert "line 2" in str(err) and PERSON_ID not in str(err)


def test_bulk_import_refuses_the_line_of_a_person_already_running(engine):
    """A batch line of a person whose pension transfer is already running is refused, naming
    the running case; nothing of the batch is written."""
    running = open_case(engine)
    err = refused(engine, InvalidRow, engine.open_cases,
                  [_application(OTHER_PERSON_ID), _application(PERSON_ID)],
                  actor=DEST_CLERK, first_line=2)
    assert err.line == 3 and isinstance(err.error, TransferAlreadyRunning)
    assert err.error.public_number == running.public_number


def test_bulk_import_opens_a_pension_and_a_medical_case_of_one_person(engine):
    """Seed 000: "These are two different departments": one file may hold a person's pension
    and medical applications."""
    ids = engine.open_cases([_application(PERSON_ID), _application(
        PERSON_ID, definition="medical_transfer", **SCHEMES,
        documents=full_documents("medical_transfer"))], actor=DEST_CLERK)
    assert len(ids) == 2


def test_cases_import_refuses_a_person_twice_in_one_file_with_one_line(run, tmp_path: Path):
    """`sstransfer import` (cases import) refuses the file at the line of a person's second pension
    application: one line on stderr (no traceback), nothing written."""
    docs = ";".join(full_documents("pension_transfer"))
    csv = tmp_path / "applications.csv"
    csv.write_text(
        "definition,person_id,person_name,origin,destination,applicant,channel,documents\n"
        f"pension_transfer,{PERSON_ID},张三,{ORIGIN},{DESTINATION},employer,counter,{docs}\n"
        f"pension_transfer,{PERSON_ID},张三,110000,{DESTINATION},employer,counter,{docs}\n",
        encoding="utf-8")
    done = run("import", str(csv), "--actor", "c-12", "--role", "destination_clerk",
               "--agency", DESTINATION, "--on", "2025-09-26", ok=False)
    assert "line 3" in done.stderr and "already has a running pension transfer" in done.stderr
    assert PERSON_ID not in done.stderr
    assert "0 case" not in done.stdout


def test_the_migration_marks_closed_cases_and_keeps_only_the_newest_of_side_by_side_ones(
        db_url):
    """Revision 0012 on a database of revision 0010: a case in a final state is not running;
    of two pension cases of one person that ran side by side before (the engine let them),
    only the newest counts as the running one, so the unique index can be made."""
    db = store.connect(db_url)
    try:
        store.upgrade(db, "0010")
        stamp = "2025-09-26 00:00:00"
        with db.begin() as conn:
            for n, (state, person) in enumerate([("applied", PERSON_ID), ("applied", PERSON_ID),
                                                 ("continued", OTHER_PERSON_ID),
                                                 ("applied", OTHER_PERSON_ID)], 1):
                conn.execute(sa.text(
                    "INSERT INTO transfer_case (id, public_number, definition_name, "
                    "definition_version, insurance, state, version, person_id, person_name, "
                    "origin, destination, scope, applicant, channel, documents, "
                    "requested_documents, opened_on, last_event_on, created_at, updated_at) "
                    "VALUES (:id, :pn, 'pension_transfer', 1, 'pension', :state, 1, :person, "
                    "'张三', '310000', '440300', 'inter_provincial', 'employer', 'counter', "
                    "'[]', '[]', '2025-09-26', '2025-09-26', :ts, :ts)"),
                    {"id": n, "pn": f"P{n}", "state": state, "person": person,
                     "ts": stamp})
        store.upgrade(db)
        with db.connect() as conn:
            running = dict(conn.execute(sa.text("SELECT id, running FROM transfer_case")).all())
        assert {k: bool(v) for k, v in running.items()} == {
            1: False, 2: True, 3: False, 4: True}
    finally:
        db.dispose()
