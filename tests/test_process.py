"""The process as it really runs (issue 20): receipts of letters and funds sent on paper, the
origin's refusal in writing, money that goes back, and the different-place medical
registration advisory. Each rule quotes the seed sentence it honours; every database test
runs on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from tests.conftest import (
    APPLICANT,
    DEST_CLERK,
    DESTINATION,
    ORIGIN,
    ORIGIN_CLERK,
    SHIPPED,
    _next_person,
    full_documents,
    open_case,
    refused,
)
from tests.receivers import RecordingSms
from workflow import (
    Actor,
    DefinitionError,
    Engine,
    InvalidInput,
    InvalidTransition,
    NotPermitted,
    Settings,
)
from workflow.core.notify import recipients
from workflow.loading import DefinitionSet

D = dt.date
FORM = {"periods": ["1998-01:1999-12:3000.00"], "personal_account": "1000.00"}
MEDICAL_FORM = {"personal_account": "800.00", "months_actual": 60, "months_deemed": 0}
PAPER_EXAMPLE = SHIPPED / "examples" / "pension_transfer_paper.yaml"
PHONE = "13800138000"
BEIJING_CLERK = Actor(id="b-1", role="destination_clerk", agency="110000")


def _with_paper_exchange(folder: Path) -> Path:
    """The shipped definitions plus the example of a paper exchange."""
    target = folder / "definitions-paper"
    shutil.copytree(SHIPPED, target)
    shutil.copy(PAPER_EXAMPLE, target)
    return target


@pytest.fixture
def shipped_engine(db_url, schema_copy):
    """An engine on the definitions as shipped (pension v2, medical v3)."""
    with Engine(schema_copy(db_url), definitions=SHIPPED) as e:
        yield e


@pytest.fixture
def paper_engine(db_url, schema_copy, tmp_path):
    """An engine that also has the example definition that exchanges its papers on paper."""
    with Engine(schema_copy(db_url), definitions=_with_paper_exchange(tmp_path)) as e:
        yield e


def _step(engine: Engine, case, trigger: str, actor, on: D, **kw):
    return engine.fire(case.id, trigger, actor=actor, on=on, **kw)


def _open(engine: Engine, definition: str = "pension_transfer"):
    """A complete application received on 2025-09-01 (the paper example takes pension's
    documents)."""
    if definition != "pension_transfer_paper":
        return open_case(engine, definition, on=D(2025, 9, 1))
    return engine.open_case(definition, person_id=_next_person(engine, definition),
                            person_name="张三", origin=ORIGIN,
                            destination=DESTINATION, applicant="employer", channel="counter",
                            documents=full_documents("pension_transfer"), actor=APPLICANT,
                            on=D(2025, 9, 1))


SENT = D(2025, 9, 22)


def _letter_sent(engine: Engine, definition: str = "pension_transfer", sent: D = SENT):
    case = _open(engine, definition)
    case = _step(engine, case, "review", DEST_CLERK, sent)
    return _step(engine, case, "send_letter", DEST_CLERK, sent)


def _funds_moved(engine: Engine, definition: str = "pension_transfer"):
    if definition == "medical_transfer":
        case = _open(engine, definition)
        case = _step(engine, case, "review", DEST_CLERK, D(2025, 9, 3))
        return _step(engine, case, "move_funds", ORIGIN_CLERK, D(2025, 9, 10),
                     information_form=MEDICAL_FORM)
    case = _letter_sent(engine, definition)
    if definition == "pension_transfer_paper":
        case = _step(engine, case, "receive_letter", ORIGIN_CLERK, D(2025, 9, 24))
    return _step(engine, case, "move_funds", ORIGIN_CLERK, D(2025, 9, 26), information_form=FORM)


def _span(engine: Engine, case_id: int, name: str):
    [span] = [s for s in engine.spans(case_id) if s.name == name]
    return span


# --- receipts: the platform by default, paper where a definition declares it ------------------
def test_through_the_national_platform_a_letter_is_received_when_sent(shipped_engine):
    """Letters and funds travel through the national platform by default: the origin's
    limit starts the day the letter is sent, and there is no receipt step (seed 000 (3): "within
    15 working days after receiving the acceptance letter")."""
    case = _letter_sent(shipped_engine, sent=D(2025, 9, 26))
    span = _span(shipped_engine, case.id, "origin_transfer")
    assert (span.started_on, span.due_on) == (D(2025, 9, 26), D(2025, 10, 23))
    assert shipped_engine.definition("pension_transfer").exchange == "platform"
    refused(shipped_engine, InvalidInput, shipped_engine.fire, case.id, "receive_letter",
            actor=ORIGIN_CLERK, on=D(2025, 9, 29))


def test_on_paper_the_origins_fifteen_working_days_start_from_the_letters_receipt(paper_engine):
    """Seed 000 (3): "The social security agency where the original basic old-age insurance
    relationship is located shall handle all the transfer and connection procedures within 15
    working days after receiving the acceptance letter." Sent on 2025-09-22, recorded as
    received on Friday 2025-09-26: the origin is due on 2025-10-23 (DOMAIN.md's worked
    example), not 15 working days from the sending."""
    case = _letter_sent(paper_engine, "pension_transfer_paper", sent=D(2025, 9, 22))
    assert [s.name for s in paper_engine.spans(case.id) if s.ended_on is None] == [
        "letter_in_transit"]
    case = _step(paper_engine, case, "receive_letter", ORIGIN_CLERK, D(2025, 9, 26))
    assert case.state == "letter_received"
    span = _span(paper_engine, case.id, "origin_transfer")
    assert (span.started_on, span.due_on, span.owner_agency) == (
        D(2025, 9, 26), D(2025, 10, 23), ORIGIN)
    assert _span(paper_engine, case.id, "letter_in_transit").ended_on == D(2025, 9, 26)


def test_on_paper_the_destinations_fifteen_working_days_start_from_the_funds_receipt(
        paper_engine):
    """Seed 000 (4): "After receiving the basic old-age insurance relationship and funds
    transferred from the insured's original basic old-age insurance relationship, the social
    security agency in the newly insured place shall complete the relevant procedures within 15
    working days". Funds sent 2025-09-26 and received 2025-09-30: due 2025-10-24, and only the
    continuation may follow the receipt."""
    case = _funds_moved(paper_engine, "pension_transfer_paper")
    refused(paper_engine, InvalidTransition, paper_engine.fire, case.id,
            "continue_relationship", actor=DEST_CLERK, on=D(2025, 9, 30), months_at_destination=0)
    case = _step(paper_engine, case, "receive_funds", DEST_CLERK, D(2025, 9, 30))
    span = _span(paper_engine, case.id, "destination_continuation")
    assert (span.started_on, span.due_on) == (D(2025, 9, 30), D(2025, 10, 28))
    case = _step(paper_engine, case, "continue_relationship", DEST_CLERK, D(2025, 10, 9),
                 months_at_destination=0)
    assert case.state == "continued"


def test_a_letter_not_recorded_as_received_raises_an_in_transit_alert(paper_engine):
    """A missing receipt cannot stop the clock: a letter sent on paper and not recorded as
    received within its transit span (10 working days) raises one in_transit alert for the
    origin, the working day after; a letter received in time raises none (seed 000 (3): "within
    15 working days after receiving the acceptance letter")."""
    lost = _letter_sent(paper_engine, "pension_transfer_paper", sent=D(2025, 10, 9))
    transit = _span(paper_engine, lost.id, "letter_in_transit")
    assert transit.due_on == D(2025, 10, 22)  # 10 working days: 10-10, 10-11 (make-up), ...
    assert paper_engine.scan(D(2025, 10, 22)).raised == 0  # never "due soon"
    result = paper_engine.scan(D(2025, 10, 23))
    assert [(a.case_id, a.level, a.subject, a.owner_agency, a.working_days_late)
            for a in paper_engine.alerts(run_id=result.run_id)] == [
        (lost.id, "in_transit", "letter_in_transit", ORIGIN, 1)]
    assert paper_engine.scan(D(2025, 10, 31)).count("in_transit") == 0  # once
    on_time = _letter_sent(paper_engine, "pension_transfer_paper", sent=D(2025, 11, 3))
    _step(paper_engine, on_time, "receive_letter", ORIGIN_CLERK, D(2025, 11, 5))
    paper_engine.scan(D(2025, 12, 1))
    assert [a.level for a in paper_engine.alerts(case_id=on_time.id)
            if a.subject.endswith("_in_transit")] == []


def test_funds_not_recorded_as_received_raise_an_in_transit_alert_for_the_destination(
        paper_engine):
    """Seed 000 (4): "After receiving the ... relationship and funds ...": funds sent on paper
    and not recorded as received within 10 working days raise an in_transit alert for the
    destination."""
    case = _funds_moved(paper_engine, "pension_transfer_paper")  # sent 2025-09-26
    paper_engine.scan(D(2025, 10, 31))
    assert [(a.level, a.subject, a.owner_agency) for a in paper_engine.alerts(case_id=case.id)
            if a.level == "in_transit"] == [("in_transit", "funds_in_transit", DESTINATION)]


def test_a_paper_exchange_must_record_each_receipt_and_the_platform_none(tmp_path):
    """A definition that declares paper exchange has a receive_funds step (and a transit span
    to it) for its move_funds; one that does not declare it has no receipt steps: the
    declaration says what the steps do (seed 000 (3): "after receiving the acceptance letter")."""
    text = PAPER_EXAMPLE.read_text(encoding="utf-8")
    cases = {
        "no_receipt": text.replace("receive_funds", "take_funds"),
        "no_transit": text.replace("    kind: transit\n    owner: destination\n",
                                   "    owner: destination\n").replace(
            "name: funds_in_transit", "name: funds_travel").replace(
            "funds_in_transit: {", "funds_travel: {"),
        "platform": text.replace("exchange: paper\n", ""),
    }
    errors = {}
    for name, changed in cases.items():
        folder = tmp_path / name
        shutil.copytree(SHIPPED, folder)
        (folder / "pension_transfer_paper.yaml").write_text(changed, encoding="utf-8")
        with pytest.raises(DefinitionError) as info:
            DefinitionSet(folder)
        errors[name] = str(info.value)
    assert "add a 'receive_funds' step" in errors["no_receipt"]
    assert "transit span from 'move_funds' to 'receive_funds'" in errors["no_transit"]
    assert "declares no paper exchange" in errors["platform"]


# --- the origin's refusal in writing ------------------------------------------------------------
def test_the_origin_may_refuse_in_writing_which_ends_the_case_and_tells_everyone(db_url,
                                                                                 schema_copy):
    """Seed 000 (2): for those who do not meet the conditions, "make a written explanation";
    the origin may refuse too (e.g. the person has no record there): its clerk's reject ends
    the case with the explanation, the origin issues the written explanation paper, and the
    case.rejected event reaches the applicant and both agencies."""
    RecordingSms.sent.clear()
    with Engine(schema_copy(db_url), definitions=SHIPPED,
                settings=Settings(sms_adapter="tests.receivers:make_sms")) as engine:
        case = open_case(engine, contact_phone=PHONE, on=D(2025, 9, 1))
        case = _step(engine, case, "review", DEST_CLERK, D(2025, 9, 22))
        case = _step(engine, case, "send_letter", DEST_CLERK, D(2025, 9, 22))
        refused(engine, InvalidInput, engine.fire, case.id, "reject", actor=ORIGIN_CLERK,
                on=D(2025, 9, 29))  # no explanation: refused, nothing written
        case = _step(engine, case, "reject", ORIGIN_CLERK, D(2025, 9, 29),
                     explanation="本地无该参保人缴费记录")
        assert case.state == "rejected"
        assert [s.ended_on for s in engine.spans(case.id)] == [D(2025, 9, 22), D(2025, 9, 29)]
        [event] = [e for e in engine.outbox(limit=100)
                   if e.case_id == case.id and e.name == "case.rejected"]
        assert event.data == {"reason": "本地无该参保人缴费记录"}
        paper = engine.paper(event.paper_id)
        assert (paper.kind, paper.agency) == ("refusal_explanation", ORIGIN)
        engine.deliver_outbox()
        assert any("本地无该参保人缴费记录" in text for to, text in RecordingSms.sent
                   if to == PHONE)

    class Sub:
        def __init__(self, id: int, agency: str) -> None:
            self.id, self.agency, self.province = id, agency, None
            self.events, self.channel, self.target = [], "webhook", f"https://{agency}.example"
    told = recipients("case.rejected", event.data, origin=ORIGIN, destination=DESTINATION,
                      contact_phone=PHONE, contact_email=None,
                      subscriptions=[Sub(1, ORIGIN), Sub(2, DESTINATION), Sub(3, "110000")],
                      channels=("sms", "webhook"))
    assert sorted(told, key=str) == sorted([("sms", PHONE, None),
                                            ("webhook", f"https://{ORIGIN}.example", 1),
                                            ("webhook", f"https://{DESTINATION}.example", 2)],
                                           key=str)


def test_the_origin_may_refuse_only_once_it_has_the_letter(shipped_engine):
    """Seed 000 (3): the origin acts "after receiving the acceptance letter": before the letter
    it may not refuse the case (that is the destination's review)."""
    case = open_case(shipped_engine)
    refused(shipped_engine, NotPermitted, shipped_engine.fire, case.id, "reject",
            actor=ORIGIN_CLERK, on=D(2025, 9, 29), explanation="无记录")


def test_the_medical_origin_may_refuse_in_writing_after_accepting(shipped_engine):
    """Seed 000 (2): "make a written explanation"; under the 2021 medical process the origin
    moves the funds after the application is accepted, and may instead refuse in writing (no
    record of the person there): the case ends and the origin issues the explanation."""
    case = _open(shipped_engine, "medical_transfer")
    case = _step(shipped_engine, case, "review", DEST_CLERK, D(2025, 9, 3))
    case = _step(shipped_engine, case, "reject", ORIGIN_CLERK, D(2025, 9, 5),
                 explanation="本地无该参保人医保缴费记录")
    [paper] = shipped_engine.papers(case.id)
    assert (case.state, paper.kind, paper.agency) == ("rejected", "refusal_explanation", ORIGIN)


# --- money that goes back ---------------------------------------------------------------------
@pytest.mark.parametrize("definition", ["pension_transfer", "medical_transfer"])
def test_withdraw_is_refused_once_the_funds_have_left_the_origin(shipped_engine, definition):
    """Seed 000 (3): the origin "shall handle all the transfer and connection procedures";
    once it has moved the funds, the application can no longer be withdrawn (the money would
    stay recorded as moved): withdraw is refused, naming what may be done, and nothing is
    written."""
    case = _funds_moved(shipped_engine, definition)
    error = refused(shipped_engine, InvalidTransition, shipped_engine.fire, case.id, "withdraw",
                    actor=APPLICANT, on=D(2025, 10, 13))
    assert "return_funds" in str(error)


@pytest.mark.parametrize("definition", ["pension_transfer", "medical_transfer"])
def test_a_transfer_that_cannot_be_continued_is_reversed_by_the_destination(shipped_engine,
                                                                            definition):
    """Seed 000 (4): the destination "shall complete the relevant procedures" after receiving
    the funds; when it cannot continue, it returns the funds with a written reason
    (return_funds), the case is final only once the origin records the funds back
    (receive_returned_funds), and until then the returned funds are in transit."""
    case = _funds_moved(shipped_engine, definition)
    refused(shipped_engine, InvalidInput, shipped_engine.fire, case.id, "return_funds",
            actor=DEST_CLERK, on=D(2025, 10, 13))  # a written reason is required
    case = _step(shipped_engine, case, "return_funds", DEST_CLERK, D(2025, 10, 13),
                 explanation="转入地无在职参保记录，无法接续")
    assert case.state == "funds_returning"
    assert case.state not in shipped_engine.definition(definition).final_states
    assert _span(shipped_engine, case.id, "destination_continuation").ended_on == D(2025, 10, 13)
    transit = _span(shipped_engine, case.id, "returned_funds_in_transit")
    assert (transit.owner_agency, transit.ended_on) == (ORIGIN, None)
    refused(shipped_engine, InvalidTransition, shipped_engine.fire, case.id,
            "continue_relationship", actor=DEST_CLERK, on=D(2025, 10, 14),
            months_at_destination=0)
    case = _step(shipped_engine, case, "receive_returned_funds", ORIGIN_CLERK, D(2025, 10, 16))
    assert case.state == "reversed"
    assert all(s.ended_on is not None for s in shipped_engine.spans(case.id))
    history = shipped_engine.history(case.id)
    assert [(h.trigger, h.comment) for h in history[-2:]] == [
        ("return_funds", "转入地无在职参保记录，无法接续"), ("receive_returned_funds", None)]


def test_returned_funds_not_recorded_as_received_raise_an_in_transit_alert(shipped_engine):
    """Seed 000 (3): the origin handles the transfer "after receiving"; funds sent back and not
    recorded by the origin within 10 working days raise an in_transit alert for the origin."""
    case = _funds_moved(shipped_engine)
    _step(shipped_engine, case, "return_funds", DEST_CLERK, D(2025, 10, 13), explanation="无法接续")
    shipped_engine.scan(D(2025, 11, 10))
    assert [(a.level, a.subject, a.owner_agency) for a in shipped_engine.alerts(case_id=case.id)
            if a.level == "in_transit"] == [("in_transit", "returned_funds_in_transit", ORIGIN)]


# --- the different-place medical registration advisory ---------------------------------------
def _continued_pension(engine: Engine, **open_args):
    case = _funds_moved(engine, **open_args)
    return _step(engine, case, "continue_relationship", DEST_CLERK, D(2025, 10, 9),
                 months_at_destination=0)


def _advisories(engine: Engine, case_id: int) -> list[str]:
    return [a.subject for a in engine.alerts(case_id=case_id) if a.level == "advisory"]


def test_a_continued_pension_with_no_medical_case_at_all_gets_the_advisory(db_url,
                                                                            schema_copy):
    """Seed 000: "If the old-age insurance relationship has been successfully transferred to
    the new insured place and the medical insurance relationship is still in the original
    insured place, going to the new insured place for medical treatment is a medical treatment
    in a different place" (also seed 001, medical treatment in different places). With no
    medical case at all the medical insurance has not moved: the advisory is raised, once, and
    reaches the person through the outbox."""
    RecordingSms.sent.clear()
    with Engine(schema_copy(db_url), definitions=SHIPPED,
                settings=Settings(sms_adapter="tests.receivers:make_sms")) as engine:
        case = open_case(engine, contact_phone=PHONE, on=D(2025, 9, 1))
        case = _step(engine, case, "review", DEST_CLERK, D(2025, 9, 22))
        case = _step(engine, case, "send_letter", DEST_CLERK, D(2025, 9, 22))
        case = _step(engine, case, "move_funds", ORIGIN_CLERK, D(2025, 9, 26),
                     information_form=FORM)
        case = _step(engine, case, "continue_relationship", DEST_CLERK, D(2025, 10, 9),
                     months_at_destination=0)
        assert engine.scan(D(2025, 10, 10)).count("advisory") == 1
        assert engine.scan(D(2025, 10, 13)).count("advisory") == 0
        assert _advisories(engine, case.id) == ["different_place_registration"]
        [event] = [e for e in engine.outbox(limit=100) if e.name == "alert.raised"]
        assert (event.case_id, event.data["level"]) == (case.id, "advisory")
        engine.deliver_outbox()
        # the opening, the completion, then the advice
        assert [to for to, _ in RecordingSms.sent] == [PHONE, PHONE, PHONE]
        assert "异地" in RecordingSms.sent[-1][1]


def test_the_advisory_is_raised_when_the_medical_insurance_moved_elsewhere_not_when_it_followed(
        shipped_engine):
    """Seed 000: "the medical insurance relationship is still in the original insured place"
    means treatment at the new place is in a different place: a medical transfer continued
    to another destination leaves the pension's destination without it (advisory); one
    continued to the same destination does not (no advisory)."""
    pension = _continued_pension(shipped_engine)
    other = "110108198001010015"
    elsewhere = open_case(shipped_engine, person_id=other, on=D(2025, 9, 1))
    for trigger, actor, on, kw in [
            ("review", DEST_CLERK, D(2025, 9, 22), {}),
            ("send_letter", DEST_CLERK, D(2025, 9, 22), {}),
            ("move_funds", ORIGIN_CLERK, D(2025, 9, 26), {"information_form": FORM}),
            ("continue_relationship", DEST_CLERK, D(2025, 10, 9), {"months_at_destination": 0})]:
        elsewhere = _step(shipped_engine, elsewhere, trigger, actor, on, **kw)
    beijing = {"destination": "110000"}
    for person, where in [(pension.person_id, {}), (other, beijing)]:
        medical = open_case(shipped_engine, "medical_transfer", person_id=person,
                            on=D(2025, 9, 1), **where)
        clerk = BEIJING_CLERK if where else DEST_CLERK
        medical = _step(shipped_engine, medical, "review", clerk, D(2025, 9, 3))
        medical = _step(shipped_engine, medical, "move_funds", ORIGIN_CLERK, D(2025, 9, 10),
                        information_form=MEDICAL_FORM)
        _step(shipped_engine, medical, "continue_relationship", clerk, D(2025, 9, 12),
              months_at_destination=0)
    shipped_engine.scan(D(2025, 10, 10))
    assert _advisories(shipped_engine, pension.id) == []
    assert _advisories(shipped_engine, elsewhere.id) == ["different_place_registration"]
