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

import datetime as dt
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import (
    APPLICANT,
    DEST_CLERK,
    DESTINATION,
    ORIGIN,
    ORIGIN_CLERK,
    OTHER_PERSON_ID,
    PERSON_ID,
    RECEIVED,
    SCHEMES,
    full_documents,
    open_case,
    refused,
)
from workflow import (
    Actor,
    CaseNotFound,
    CaseQuery,
    Engine,
    InvalidInput,
    InvalidRow,
    MissingDocuments,
    NotPermitted,
    Principal,
    Settings,
    TransferAlreadyRunning,
    store,
)
from workflow.errors import NotAuthenticated


def test_a_second_running_transfer_of_the_same_insurance_is_refused_naming_the_running_case(
        engine):
    """Seed 000: "the employer submits a written application for the transfer and continuation
    of the basic old-age insurance relationship": a person's pension moves to one place at a
    time. A second running pension transfer is refused, naming the running case by its public
    number, state and agencies (never the ID number), and nothing is written."""
    running = open_case(engine)
    err = refused(engine, TransferAlreadyRunning, open_case, engine, person_id=PERSON_ID,
                  origin="110000", destination="330100")
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
    second = open_case(engine, person_id=PERSON_ID, destination="330100")
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
            outcomes[n] = open_case(engines[n], person_id=PERSON_ID)
        except Exception as exc:
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


# --- applications as the seeds describe them --------------------------------------------------
AGENT = "agent-9"
AGENT_ID_NUMBER = "110101199003070011"
AGENT_DOCUMENTS = ["power_of_attorney", "client_id_copy"]
MEDICAL_FORM = {"personal_account": "1", "months_actual": 1}
AGENT_ACTOR = Actor(id=AGENT, role="agent")


@pytest.fixture
def shipped(db_url, schema_copy):
    """An engine on the definitions as they ship (pension v2, medical v3: this release's)."""
    from tests.conftest import SHIPPED

    with Engine(schema_copy(db_url), definitions=SHIPPED) as e:
        yield e


def _agent_application(engine, definition="pension_transfer", **overrides):
    args = dict(applicant="agent", actor=AGENT_ACTOR, agent_name="李四",
                agent_id_number=AGENT_ID_NUMBER,
                documents=[*full_documents(definition), *AGENT_DOCUMENTS])
    args.update(overrides)
    return open_case(engine, definition, **args)




def test_an_entrusted_agent_brings_the_power_of_attorney_and_the_client_id_copy_when_opening(
        shipped):
    """Seed 000: "You can also entrust others to handle it, but in this case, in addition to
    the relevant materials needed for social security transfer, you need to prepare the
    original and photocopy of the client's ID card and the power of attorney": an agent's
    application without them is refused when it is opened (not only at review), naming both,
    and nothing is written."""
    err = refused(shipped, MissingDocuments, _agent_application, shipped,
                  documents=full_documents("pension_transfer"))
    assert set(err.kinds) == set(AGENT_DOCUMENTS) and err.trigger == "open"
    case = _agent_application(shipped)
    assert {"power_of_attorney", "client_id_copy"} <= set(case.documents)


def test_an_entrusted_agent_s_name_and_id_number_are_recorded_masked_and_never_logged(shipped):
    """Seed 000: "entrust others to handle it": the agent's own name and ID number are
    recorded with the case; the number is shown masked only (the case's views, the JSON) and
    never logged."""
    from structlog.testing import capture_logs

    with capture_logs() as logs:
        case = _agent_application(shipped)
        shipped.fire(case.id, "review", actor=DEST_CLERK, on=RECEIVED)
    assert case.agent_name == "李四" and case.agent_id_masked == "110101********0011"
    assert shipped.get(case.id).agent_id_number == AGENT_ID_NUMBER
    assert AGENT_ID_NUMBER not in repr(case) and AGENT_ID_NUMBER not in str(case.to_dict())
    assert AGENT_ID_NUMBER not in repr(logs) and logs


def test_an_entrusted_agent_s_application_names_the_agent(shipped):
    """Seed 000: an entrusted agent handles it for the client: an agent's application without
    the agent's name and ID number is refused, as is an invalid agent ID number (named as the
    agent's, not the person's); another applicant's may not name an agent."""
    refused(shipped, InvalidInput, _agent_application, shipped, agent_id_number=None)
    err = refused(shipped, InvalidInput, _agent_application, shipped,
                  agent_id_number="110101199003070015")
    assert "agent_id_number" in str(err) and "110101199003070015" not in str(err)
    refused(shipped, InvalidInput, open_case, shipped, agent_name="李四")


def _medical_to_funds_moved(engine, **overrides):
    case = open_case(engine, "medical_transfer", **overrides)
    engine.fire(case.id, "review", actor=DEST_CLERK, on=RECEIVED)
    engine.fire(case.id, "move_funds", actor=ORIGIN_CLERK, on=RECEIVED,
                information_form=MEDICAL_FORM)
    return case


def _premium_window(engine, case_id):
    return [s for s in engine.spans(case_id) if s.name == "premium_payment"]


@pytest.mark.parametrize("applicant", ["self", "agent"])
def test_the_three_month_premium_window_applies_when_there_is_no_receiving_employer(
        shipped, applicant):
    """Seed 002 (medical): "If no unit accepts it, the individual shall pay the insurance
    premium within three months after terminating the original medical insurance
    relationship": recorded at opening (``receiving_employer=False``), whoever applied, the
    person's three-month window starts when the origin transfers out."""
    who = {"self": dict(applicant="self", actor=Actor(
        "p-1", "self", person_id=PERSON_ID)),
           "agent": dict(applicant="agent", actor=AGENT_ACTOR, agent_name="李四",
                         agent_id_number=AGENT_ID_NUMBER,
                         documents=[*full_documents("medical_transfer"), *AGENT_DOCUMENTS])}
    case = _medical_to_funds_moved(shipped, receiving_employer=False, **who[applicant])
    assert shipped.get(case.id).receiving_employer is False
    [window] = _premium_window(shipped, case.id)
    assert window.owner == "person" and window.ended_on is None
    assert window.due_on == dt.date(2025, 12, 26)


def test_no_premium_window_when_a_unit_accepts_the_person(shipped):
    """Seed 002: "the medical insurance transfer has a receiving unit, and the unit shall
    handle the medical insurance procedures": a person applying for themselves but taken on
    by a unit (``receiving_employer=True``), or an employer's application, has no window."""
    me = Actor("p-1", "self", person_id=PERSON_ID)
    case = _medical_to_funds_moved(shipped, applicant="self", actor=me, receiving_employer=True)
    assert _premium_window(shipped, case.id) == []
    other = _medical_to_funds_moved(shipped, person_id=OTHER_PERSON_ID)
    assert shipped.get(other.id).receiving_employer is True
    assert _premium_window(shipped, other.id) == []


def test_an_employer_s_application_is_the_receiving_employer_s(shipped):
    """Seed 002: "the medical insurance transfer has a receiving unit": an employer applying
    cannot record that no unit accepts the person; nothing is written."""
    refused(shipped, InvalidInput, open_case, shipped, "medical_transfer",
            receiving_employer=False)


def test_premium_paid_ends_the_premium_window(shipped):
    """Seed 002: "the individual shall pay the insurance premium within three months": the
    destination records the payment (``premium_paid``), which ends the person's window; the
    case stays transferred out, waiting for the destination's transfer-in."""
    me = Actor("p-1", "self", person_id=PERSON_ID)
    case = _medical_to_funds_moved(shipped, applicant="self", actor=me, receiving_employer=False)
    paid = shipped.fire(case.id, "premium_paid", actor=DEST_CLERK, on=dt.date(2025, 11, 3))
    assert paid.state == "funds_moved"
    [window] = _premium_window(shipped, case.id)
    assert window.ended_on == dt.date(2025, 11, 3)


# --- two departments --------------------------------------------------------------------------
def _both_cases(engine):
    return open_case(engine), open_case(engine, "medical_transfer")


def test_a_clerk_acts_only_on_the_insurance_of_their_department(engine):
    """Seed 000: "These are two different departments": a pension clerk of 440300 reviews the
    pension case and is refused on the same person's medical case (nothing written); the
    medical clerk reviews that one."""
    pension, medical = _both_cases(engine)
    pension_clerk = Actor("c-12", "destination_clerk", DESTINATION, departments=("pension",))
    medical_clerk = Actor("m-5", "destination_clerk", DESTINATION, departments="medical")
    assert engine.fire(pension.id, "review", actor=pension_clerk, on=RECEIVED).state == "reviewed"
    err = refused(engine, NotPermitted, engine.fire, medical.id, "review", actor=pension_clerk,
                  on=RECEIVED)
    assert "medical department" in str(err)
    assert engine.fire(medical.id, "review", actor=medical_clerk, on=RECEIVED).state == "reviewed"
    refused(engine, NotPermitted, open_case, engine, "medical_transfer",
            person_id=OTHER_PERSON_ID, actor=pension_clerk, applicant="employer")


def test_a_supervisor_corrects_dates_only_in_the_insurance_of_their_department(engine):
    """Seed 000: "These are two different departments": a medical supervisor of 440300 may not
    correct a business date of the agency's pension case (nothing written); the pension
    supervisor may."""
    pension, _ = _both_cases(engine)
    medical_head = Actor("s-9", "supervisor", DESTINATION, departments=("medical",))
    pension_head = Actor("s-2", "supervisor", DESTINATION, departments=("pension",))
    day = pension.last_event_on - dt.timedelta(days=1)
    err = refused(engine, NotPermitted, engine.correct_business_date, pension.id, day,
                  actor=medical_head, reason="typo")
    assert "pension department" in str(err)
    assert engine.correct_business_date(pension.id, day, actor=pension_head,
                                        reason="typo").last_event_on == day


def test_a_clerk_reads_only_the_insurance_of_their_department(engine):
    """Seed 000: "These are two different departments": a pension clerk's desk lists, reads
    and searches the pension cases of their agency only; the medical case is not found for
    them (as one that does not exist), its alerts and inbox lines are not theirs."""
    pension, medical = _both_cases(engine)
    desk = engine.desk(Principal("c-12", "clerk", DESTINATION, departments=("pension",)))
    assert [c.id for c in desk.cases()] == [pension.id]
    assert desk.cases(CaseQuery(insurance="medical")) == []
    assert desk.case(pension.id).id == pension.id
    with pytest.raises(CaseNotFound):
        desk.case(medical.id)
    inbox = desk.inbox(as_of=dt.date(2025, 11, 3))
    assert {item.span.case_id for item in inbox.items} == {pension.id}
    engine.scan(as_of=dt.date(2025, 11, 3))
    assert {a.case_id for a in desk.alerts()} == {pension.id}


def test_a_supervisor_granted_both_departments_reads_both(engine):
    """Seed 000: two departments; a supervisor granted both reads the cases and the overdue
    report of both insurances, a pension supervisor only the pension lines."""

    pension, medical = _both_cases(engine)
    # The medical case waits for the destination's transfer-in (a span of 440300's).
    engine.fire(medical.id, "review", actor=DEST_CLERK, on=RECEIVED)
    engine.fire(medical.id, "move_funds", actor=ORIGIN_CLERK, on=RECEIVED,
                documents=["information_form"], amount="1.00")
    both = engine.desk(Principal("s-1", "supervisor", DESTINATION,
                                 departments=("pension", "medical")))
    assert {c.id for c in both.cases()} == {pension.id, medical.id}
    late = dt.date(2026, 1, 30)
    assert {line.case_id for line in both.overdue_report(late).lines()} == {
        pension.id, medical.id}
    one = engine.desk(Principal("s-2", "supervisor", DESTINATION, departments=("pension",)))
    assert {line.case_id for line in one.overdue_report(late).lines()} == {pension.id}


def test_a_token_carries_its_department_and_an_old_token_works_as_both(engine):
    """Seed 000: two departments: a token names the department its clerk works in, and its
    principal acts and reads only there; a token made without one (before departments) works
    as both. A clerk is granted one department, a supervisor one or both, an applicant none."""
    medical_token, _ = engine.create_token("m-5", "clerk", DESTINATION, departments=["medical"])
    assert engine.access_service.authenticate(medical_token).departments == ("medical",)
    old, _ = engine.create_token("c-1", "clerk", DESTINATION)
    assert engine.access_service.authenticate(old).departments == ("pension", "medical")
    _, record = engine.create_token("s-1", "supervisor", DESTINATION, departments="both")
    assert record.departments == "pension,medical"
    for bad in (dict(role="clerk", departments="both"), dict(role="employer",
                                                              departments="pension"),
                dict(role="clerk", departments="dental"),
                dict(role="clerk", departments=None, department_required=True)):
        role = bad.pop("role")
        refused(engine, InvalidInput, engine.create_token, "x-1", role,
                None if role == "employer" else DESTINATION, **bad)


def test_tokens_create_needs_a_department_and_tokens_list_shows_old_tokens_as_both(
        run, db_url):
    """Seed 000: two departments: `sstransfer tokens create` refuses a clerk's token without
    --department (one line, nothing written) and records the one given; `tokens list` shows
    a token made before departments as both, to be reissued."""
    import json

    run("tokens", "create", "--actor", "c-12", "--role", "clerk", "--agency", DESTINATION,
        ok=False)
    made = json.loads(run("tokens", "create", "--actor", "c-12", "--role", "clerk", "--agency",
                          DESTINATION, "--department", "pension", "--json").stdout)
    assert made["departments"] == ["pension"]
    with Engine(db_url) as engine:
        engine.create_token("c-1", "clerk", DESTINATION)  # as tokens were made before
    listed = json.loads(run("tokens", "list", "--json").stdout)
    assert [(t["departments"], t["department_named"]) for t in listed] == [
        (["pension"], True), (["pension", "medical"], False)]
    assert "reissue" in run("tokens", "list").stdout


def test_an_identity_token_carries_the_department_claim(engine, tmp_path: Path):
    """Seed 000: two departments: a JWT's ``departments`` claim limits its principal; one
    without the claim is both; a clerk claiming both is refused."""
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (tmp_path / "idp.pem").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    service = engine.access_service
    service.settings, service._jwt_key = Settings(jwt_key_file=tmp_path / "idp.pem"), None

    def token(**claims):
        now = dt.datetime.now(dt.UTC)
        return jwt.encode({"sub": "c-77", "role": "clerk", "agency": DESTINATION, "iat": now,
                           "exp": now + dt.timedelta(minutes=5), **claims}, key,
                          algorithm="RS256")

    assert service.authenticate(token(departments=["medical"])).departments == ("medical",)
    assert service.authenticate(token()).departments == ("pension", "medical")
    with pytest.raises(NotAuthenticated):
        service.authenticate(token(departments="both"))
