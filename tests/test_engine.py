"""The engine: every trigger of both definitions as stored (cases, history, spans), and
refusals that write nothing. The rules themselves (who may act, which documents and inputs a
step needs) are pinned without a database in test_rules and test_rules_pure."""

from __future__ import annotations

import datetime as dt
import multiprocessing
from decimal import Decimal

import pytest
import sqlalchemy as sa
from conftest import (
    APPLICANT,
    DEST_CLERK,
    DESTINATION,
    ORIGIN,
    ORIGIN_CLERK,
    OTHER_PERSON_ID,
    PERSON_ID,
    RECEIVED,
    open_case,
    refused,
    snapshot,
)
from hypothesis import given
from hypothesis import strategies as st
from structlog.testing import capture_logs

from workflow import (
    Actor,
    CaseNotFound,
    ConcurrentUpdate,
    Engine,
    InvalidInput,
    InvalidTransition,
    MissingDocuments,
    NotPermitted,
)

D = dt.date


def running(engine, case_id):
    return {s.name: s for s in engine.spans(case_id) if s.ended_on is None}


def to_funds_moved(engine, definition):
    case = open_case(engine, definition)
    engine.fire(case.id, "review", actor=DEST_CLERK, on=D(2025, 10, 9))
    if "send_letter" in engine.definition(definition).triggers:  # not in medical since 2021
        engine.fire(case.id, "send_letter", actor=DEST_CLERK, on=D(2025, 10, 10))
    return engine.fire(case.id, "move_funds", actor=ORIGIN_CLERK, on=D(2025, 10, 20),
                       documents=["information_form"], amount=Decimal("12345.60"))




# --- the whole life of a case -----------------------------------------------------------

def test_opening_a_case_records_it_and_starts_the_destination_review(engine, definition):
    """An application received on 2025-09-26 must be reviewed by 2025-10-23."""
    case = open_case(engine, definition)
    assert case.state == "applied" and case.version == 1
    assert case.definition == definition and case.definition_version == 1
    assert case.scope == "cross_province"
    [entry] = engine.history(case.id)
    assert (entry.seq, entry.trigger, entry.from_state, entry.to_state) == (1, "open", None, "applied")
    assert entry.recorded_at.tzinfo is not None
    span = running(engine, case.id)["destination_review"]
    assert (span.owner, span.owner_agency, span.started_on, span.due_on) == (
        "destination", DESTINATION, RECEIVED, D(2025, 10, 23))
    assert not span.provisional


def test_a_case_runs_from_applied_to_continued(engine, definition):
    """review, send_letter, move_funds, continue_relationship: each span hands over to the next."""
    case = open_case(engine, definition)
    case = engine.fire(case.id, "review", actor=DEST_CLERK, on=D(2025, 10, 9))
    assert case.state == "reviewed"
    assert set(running(engine, case.id)) == {"destination_review"}

    case = engine.fire(case.id, "send_letter", actor=DEST_CLERK, on=D(2025, 10, 10))
    assert case.state == "letter_sent" and "contact_letter" in case.documents
    spans = running(engine, case.id)
    assert set(spans) == {"origin_transfer"}
    assert spans["origin_transfer"].owner_agency == ORIGIN
    assert spans["origin_transfer"].due_on == engine.calendar.add_working_days(D(2025, 10, 10), 15)

    case = engine.fire(case.id, "move_funds", actor=ORIGIN_CLERK, on=D(2025, 10, 20),
                       documents=["information_form"], amount=Decimal("12345.60"))
    assert case.state == "funds_moved" and case.amount == Decimal("12345.60")
    assert set(running(engine, case.id)) == {"destination_continuation"}

    case = engine.fire(case.id, "continue_relationship", actor=DEST_CLERK, on=D(2025, 10, 30),
                       contribution_months=126)
    assert case.state == "continued" and case.contribution_months == 126
    assert running(engine, case.id) == {}
    ended = {s.name: s.ended_on for s in engine.spans(case.id)}
    assert ended == {"destination_review": D(2025, 10, 10), "origin_transfer": D(2025, 10, 20),
                     "destination_continuation": D(2025, 10, 30)}
    history = engine.history(case.id)
    assert [h.seq for h in history] == [1, 2, 3, 4, 5]
    assert [h.trigger for h in history] == ["open", "review", "send_letter", "move_funds",
                                            "continue_relationship"]
    assert history[3].inputs == {"amount": "12345.60"}
    assert history[3].documents == ("information_form",)
    assert case.version == 5


@pytest.mark.parametrize("state", ["applied", "reviewed"])
def test_a_rejection_stores_its_written_explanation_and_ends_the_review(engine, definition, state):
    """A rejection, before or after the review, stores its written explanation as the step's
    comment and ends every running span."""
    case = open_case(engine, definition)
    if state == "reviewed":
        engine.fire(case.id, "review", actor=DEST_CLERK, on=D(2025, 10, 9))
    case = engine.fire(case.id, "reject", actor=DEST_CLERK, on=D(2025, 10, 10),
                       explanation="payment voucher does not match the records")
    assert case.state == "rejected"
    assert engine.history(case.id)[-1].comment == "payment voucher does not match the records"
    assert running(engine, case.id) == {}


def test_requesting_documents_stops_the_review_and_resubmitting_starts_it_afresh(engine, definition):
    """The limit counts from receipt of complete materials."""
    case = open_case(engine, definition)
    case = engine.fire(case.id, "request_documents", actor=DEST_CLERK, on=D(2025, 9, 30),
                       documents_needed=["payment_voucher"])
    assert case.state == "awaiting_documents"
    assert case.requested_documents == ("payment_voucher",)
    assert "payment_voucher" not in case.documents
    assert running(engine, case.id) == {}

    case = engine.fire(case.id, "resubmit", actor=APPLICANT, on=D(2025, 10, 13),
                       documents=["payment_voucher"])
    assert case.state == "applied" and case.requested_documents == ()
    review = running(engine, case.id)["destination_review"]
    assert review.started_on == D(2025, 10, 13)
    assert review.due_on == engine.calendar.add_working_days(D(2025, 10, 13), 15)
    assert engine.fire(case.id, "review", actor=DEST_CLERK, on=D(2025, 10, 14)).state == "reviewed"


def test_attached_documents_complete_an_application(engine):
    """A review refused for missing documents writes nothing; once the applicant attaches them (a
    step of its own, the state unchanged) the review passes."""
    case = open_case(engine, documents=["application_form", "id_card"])
    err = refused(engine, MissingDocuments, engine.fire, case.id, "review", actor=DEST_CLERK,
                  on=D(2025, 10, 9))
    assert set(err.kinds) == {"payment_voucher", "endowment_manual", "employment_certificate"}
    case = engine.attach_documents(case.id, ["payment_voucher", "endowment_manual",
                                             "employment_certificate"], actor=APPLICANT,
                                   on=D(2025, 9, 29))
    assert case.state == "applied" and case.version == 2
    assert engine.history(case.id)[-1].trigger == "attach_documents"
    assert engine.fire(case.id, "review", actor=DEST_CLERK, on=D(2025, 10, 9)).state == "reviewed"


def test_cases_are_found_by_state_and_by_agency(engine):
    """cases() finds the cases in a state, those of an agency at either end, and those of a
    definition, in the order they were opened."""
    first = open_case(engine)
    second = open_case(engine, "medical_transfer", origin="110000", destination="440300")
    engine.fire(second.id, "review", actor=DEST_CLERK, on=D(2025, 10, 9))
    assert [c.id for c in engine.cases(state="applied")] == [first.id]
    assert [c.id for c in engine.cases(agency="110000")] == [second.id]
    assert [c.id for c in engine.cases(agency=DESTINATION)] == [first.id, second.id]
    assert [c.id for c in engine.cases(definition="medical_transfer")] == [second.id]


# --- refusals of fire -------------------------------------------------------------------

def test_a_supervisors_refused_step_or_attachment_writes_nothing(engine):
    """A supervisor's step and attachment are refused (NotPermitted) and the database is
    exactly as it was (the rule itself: test_rules_pure)."""
    case = open_case(engine)
    boss = Actor("s-1", "supervisor", DESTINATION)
    refused(engine, NotPermitted, engine.fire, case.id, "review", actor=boss, on=D(2025, 10, 9))
    refused(engine, NotPermitted, engine.attach_documents, case.id, ["id_card"], actor=boss,
            on=D(2025, 10, 9))


def test_a_destination_clerk_may_withdraw_or_resubmit_on_the_applicants_behalf(engine, definition):
    """... and the history row says on whose behalf."""
    case = open_case(engine, definition)
    engine.fire(case.id, "request_documents", actor=DEST_CLERK, on=D(2025, 10, 9),
                documents_needed=["id_card"])
    engine.fire(case.id, "resubmit", actor=DEST_CLERK, on=D(2025, 10, 10), documents=["id_card"])
    case = engine.fire(case.id, "withdraw", actor=DEST_CLERK, on=D(2025, 10, 11))
    assert case.state == "withdrawn"
    resubmit, withdraw = engine.history(case.id)[-2:]
    assert (resubmit.actor_role, resubmit.inputs) == ("destination_clerk",
                                                      {"on_behalf_of": "employer hr-7"})
    assert withdraw.inputs == {"on_behalf_of": "employer hr-7"}


def test_a_persons_own_case_is_withdrawn_only_by_that_person(engine):
    """A ``self`` applicant is known by their ID number: another person saying "self" (or
    the same user id without the ID number) may not withdraw; the person may, from any login."""
    me = Actor("p-1", "self", person_id=PERSON_ID)
    case = open_case(engine, "medical_transfer", applicant="self", actor=me)
    for stranger in (Actor("p-2", "self", person_id=OTHER_PERSON_ID), Actor("p-1", "self")):
        err = refused(engine, NotPermitted, engine.fire, case.id, "withdraw", actor=stranger,
                      on=D(2025, 10, 9))
        assert PERSON_ID not in str(err)
    again = Actor("online-session-8", "self", person_id=PERSON_ID.lower())
    assert engine.fire(case.id, "withdraw", actor=again, on=D(2025, 10, 9)).state == "withdrawn"
    assert engine.history(case.id)[-1].inputs == {}


def test_a_closed_case_allows_nothing(engine):
    """A withdrawn case takes no step (InvalidTransition, listing none allowed) and no
    document, and each refusal writes nothing."""
    case = open_case(engine)
    engine.fire(case.id, "withdraw", actor=APPLICANT, on=D(2025, 10, 9))
    err = refused(engine, InvalidTransition, engine.fire, case.id, "review", actor=DEST_CLERK,
                  on=D(2025, 10, 9))
    assert err.allowed == ()
    refused(engine, InvalidTransition, engine.fire, case.id, "withdraw", actor=APPLICANT,
            on=D(2025, 10, 9))
    refused(engine, InvalidInput, engine.attach_documents, case.id, ["id_card"], actor=APPLICANT,
            on=D(2025, 10, 9))


def test_a_step_dated_before_the_last_step_is_refused(engine):
    """A step dated before the case's last step, or given a datetime instead of a date, is refused
    and writes nothing."""
    case = open_case(engine)
    refused(engine, InvalidInput, engine.fire, case.id, "review", actor=DEST_CLERK,
            on=D(2025, 9, 25))
    refused(engine, InvalidInput, engine.fire, case.id, "review", actor=DEST_CLERK,
            on=dt.datetime(2025, 10, 9, 9, 0))


def test_an_unknown_case_is_case_not_found(engine):
    """Firing on, reading or listing the history of a case that does not exist is CaseNotFound,
    and the refused step writes nothing."""
    refused(engine, CaseNotFound, engine.fire, 999, "review", actor=DEST_CLERK, on=D(2025, 10, 9))
    with pytest.raises(CaseNotFound):
        engine.get(999)
    with pytest.raises(CaseNotFound):
        engine.history(999)
    for view in (engine.spans, engine.linked_cases):
        with pytest.raises(CaseNotFound):
            view(999)


def test_a_case_s_views_read_the_case_only_when_they_find_nothing(engine):
    """A case's history, spans and links are one statement each: the case itself is looked
    for only when a view is empty (none linked here: an empty list, not CaseNotFound)."""
    case = open_case(engine)
    statements: list[str] = []

    def ran(conn, cursor, statement, *_args) -> None:
        statements.append(statement)

    sa.event.listen(engine.db, "before_cursor_execute", ran)
    try:
        assert [h.trigger for h in engine.history(case.id)] == ["open"]
        assert [s.name for s in engine.spans(case.id)]
        assert engine.linked_cases(case.id) == []
    finally:
        sa.event.remove(engine.db, "before_cursor_execute", ran)
    reads_of_the_case = [s for s in statements if "FROM transfer_case" in s
                         and "linked_case_id" not in s]
    assert len(statements) == 4 and len(reads_of_the_case) == 1


# --- refusals of open_case --------------------------------------------------------------

@pytest.mark.parametrize("change", [
    {"person_id": "110105194912310021"},  # wrong check digit
    {"on": "2025-09-26"},  # a string, not a date
])
def test_an_invalid_application_is_refused_and_nothing_is_written(engine, change):
    """An application the rules refuse, or given its date as text, opens no case and writes
    nothing (what each field must be: test_rules_pure)."""
    refused(engine, InvalidInput, open_case, engine, **change)


def test_a_case_is_opened_only_by_its_applicant_or_a_destination_clerk(engine):
    """An employer's case opened by a person saying "self" or by the origin's clerk is refused and
    nothing is written; the destination's clerk opens it."""
    refused(engine, NotPermitted, open_case, engine, actor=Actor("p-1", "self", person_id=PERSON_ID))
    refused(engine, NotPermitted, open_case, engine, actor=ORIGIN_CLERK)
    assert open_case(engine, actor=DEST_CLERK).state == "applied"


# --- one transaction, and two clerks at once --------------------------------------------

def test_a_failure_inside_the_transaction_leaves_nothing_half_written(engine, monkeypatch):
    """A failure after the case, history and span ends are written, in a step or an opening, rolls
    all of it back: the database is exactly as before."""
    case = open_case(engine)
    engine.fire(case.id, "review", actor=DEST_CLERK, on=D(2025, 10, 9))

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(engine.case_service, "_span_rows", boom)  # after the case, history and span ends
    before = snapshot(engine)
    with pytest.raises(RuntimeError):
        engine.fire(case.id, "send_letter", actor=DEST_CLERK, on=D(2025, 10, 10))
    assert snapshot(engine) == before
    with pytest.raises(RuntimeError):
        open_case(engine)
    assert snapshot(engine) == before


def test_a_clerk_deciding_on_an_old_version_gets_concurrent_update(engine):
    """Two clerks read version 1; the first to write wins, the second is told."""
    case = open_case(engine)
    engine.fire(case.id, "review", actor=DEST_CLERK, on=D(2025, 10, 9), expected_version=1)
    err = refused(engine, ConcurrentUpdate, engine.fire, case.id, "reject", actor=DEST_CLERK,
                  on=D(2025, 10, 9), explanation="late", expected_version=1)
    assert err.expected_version == 1


def test_the_version_check_is_made_in_the_write_itself(engine, monkeypatch):
    """Even if another write lands between reading the case and writing, only one wins."""
    case = open_case(engine)
    service = engine.case_service
    with service.store.transaction() as tx:
        stale = service._row(tx, case.id, None, D(2025, 10, 9))
    engine.fire(case.id, "review", actor=DEST_CLERK, on=D(2025, 10, 9))
    monkeypatch.setattr(service, "_row", lambda *args: stale)
    refused(engine, ConcurrentUpdate, engine.fire, case.id, "reject", actor=DEST_CLERK,
            on=D(2025, 10, 9), explanation="late")
    assert [h.trigger for h in engine.history(case.id)] == ["open", "review"]


def _race(url, case_id, barrier, results, n):
    with Engine(url) as engine:
        barrier.wait()
        try:
            trigger = "review" if n % 2 else "request_documents"
            extra = {} if n % 2 else {"documents_needed": ["id_card"]}
            engine.fire(case_id, trigger, actor=DEST_CLERK, on=D(2025, 10, 9),
                        expected_version=1, **extra)
            results.put("won")
        except ConcurrentUpdate:
            results.put("ConcurrentUpdate")


def test_of_clerks_in_separate_processes_firing_on_one_version_exactly_one_wins(engine, db_url):
    """Four processes firing on the same version of a case at once: exactly one step is written,
    the three others get ConcurrentUpdate."""
    case = open_case(engine)
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=_race, args=(db_url, case.id, barrier, results, n))
             for n in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    outcomes = sorted(results.get(timeout=5) for _ in procs)
    assert outcomes == ["ConcurrentUpdate"] * 3 + ["won"]
    assert [h.seq for h in engine.history(case.id)] == [1, 2]
    assert engine.get(case.id).version == 2


# --- logs -------------------------------------------------------------------------------

def test_every_step_is_one_log_event_and_the_id_number_is_never_logged(engine):
    """Opening, a step and each refusal are one log event each, naming the case, trigger, states,
    actor and agency (or the error), and never the ID number, whole or in part."""
    with capture_logs() as events:
        case = open_case(engine)
        engine.fire(case.id, "review", actor=DEST_CLERK, on=D(2025, 10, 9))
        with pytest.raises(NotPermitted):
            engine.fire(case.id, "send_letter", actor=ORIGIN_CLERK, on=D(2025, 10, 9))
        with pytest.raises(InvalidInput):
            open_case(engine, person_id=PERSON_ID[:-1] + "1")
    assert [e["event"] for e in events] == ["case_opened", "transition", "refused", "refused"]
    transition = events[1]
    assert (transition["case_id"], transition["trigger"], transition["from_state"],
            transition["to_state"], transition["actor"], transition["agency"]) == (
        case.id, "review", "applied", "reviewed", "c-12", DESTINATION)
    assert events[2]["error"] == "NotPermitted"
    assert PERSON_ID not in repr(events) and PERSON_ID[:-1] not in repr(events)


def test_a_case_shows_its_id_number_only_masked(engine):
    """A case holds the ID number for its callers but shows it only masked, in repr and to_dict."""
    case = open_case(engine)
    assert case.person_id == PERSON_ID
    assert case.person_id_masked == "110105********002X"
    assert PERSON_ID not in repr(case) and PERSON_ID not in repr(case.to_dict())


def test_a_medical_case_without_a_receiving_employer_gives_the_person_three_months(engine):
    """Seed 002: premiums within three calendar months after the medical relationship ends."""
    me = Actor("p-1", "self", person_id=PERSON_ID)
    case = open_case(engine, "medical_transfer", applicant="self", actor=me)
    engine.fire(case.id, "review", actor=DEST_CLERK, on=D(2025, 10, 9))
    engine.fire(case.id, "move_funds", actor=ORIGIN_CLERK, on=D(2025, 11, 30),
                documents=["information_form"], amount=0)
    premium = running(engine, case.id)["premium_payment"]
    assert (premium.owner, premium.limit_months, premium.due_on) == ("person", 3, D(2026, 2, 28))
    engine.fire(case.id, "continue_relationship", actor=DEST_CLERK, on=D(2025, 12, 5),
                contribution_months=3)
    assert running(engine, case.id) == {}


def test_an_employer_applicant_has_no_premium_span(engine):
    """Medical funds moved for an employer's case start no premium span for the person: only the
    destination's continuation runs."""
    case = to_funds_moved(engine, "medical_transfer")
    assert set(running(engine, case.id)) == {"destination_continuation"}


# --- the ID number check agrees with python-stdnum -----------------------------------------

@given(st.sampled_from(["110105", "110108", "310104", "310110", "999999", "110199"]),
       st.dates(min_value=D(1900, 1, 1), max_value=D(2025, 12, 31)),
       st.integers(min_value=0, max_value=999), st.sampled_from("0123456789X"))
def test_the_id_number_check_agrees_with_stdnum(place, birth, seq, check):
    """Our ID number check accepts exactly the numbers python-stdnum's cn.ric accepts, for any
    place, birth date, sequence and check character."""
    from stdnum.cn import ric

    from workflow.core.inputs import check_person_id

    number = f"{place}{birth:%Y%m%d}{seq:03d}{check}"
    try:
        check_person_id(number)
        accepted = True
    except InvalidInput:
        accepted = False
    try:
        stdnum_accepts = ric.is_valid(number)
    except KeyError:  # python-stdnum 2.2 fails this way on some unknown county codes
        stdnum_accepts = False
    assert accepted == stdnum_accepts
