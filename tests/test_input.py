"""Input as a Chinese back office types it, and hostile input: normalised, or refused with a
typed one-line error that writes nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from conftest import (
    APPLICANT,
    DEST_CLERK,
    ORIGIN_CLERK,
    OTHER_PERSON_ID,
    PERSON_ID,
    full_documents,
    open_case,
    refused,
)

from workflow import Actor, Engine, InvalidInput, InvalidRow, NotPermitted, Settings, today
from workflow.core.divisions import Divisions, name_of
from workflow.core.inputs import MAX_AMOUNT, normalise, parse_amount, parse_date
from workflow.errors import DefinitionError
from workflow.testing import valid_person_id

D = dt.date




def to_letter_sent(engine, **overrides):
    case = open_case(engine, **overrides)
    engine.fire(case.id, "review", actor=DEST_CLERK, on=D(2025, 10, 9))
    return engine.fire(case.id, "send_letter", actor=DEST_CLERK, on=D(2025, 10, 10))


# --- 1. full-width digits and stray whitespace ------------------------------------------

@pytest.mark.parametrize("typed, stored", [
    ("３１００００", "310000"), ("310000\n", "310000"), (" 310000\t", "310000"),
    ("\u3000３１００００\u3000", "310000"), ("2025-09-26\r\n", "2025-09-26"),
])
def test_normalise_turns_full_width_digits_into_ascii_and_strips_whitespace(typed, stored):
    """Full-width digits become ASCII and surrounding spaces, tabs, ideographic spaces and line
    breaks are dropped."""
    assert normalise(typed) == stored


def test_an_agency_code_typed_with_full_width_digits_or_a_newline_is_stored_as_ascii(engine):
    """... so the real origin clerk sees the case, and `cases(agency=...)` finds it."""
    clerk = Actor("c-12", "destination_clerk", "４４０３００ ")
    assert clerk.agency == "440300"
    case = open_case(engine, origin="３１００００", destination="440300\n", actor=clerk)
    assert (case.origin, case.destination, engine.get(case.id).origin) == (
        "310000", "440300", "310000")
    assert [c.id for c in engine.cases(agency="310000")] == [case.id]
    assert [c.id for c in engine.cases(agency="３１００００")] == [case.id]
    engine.fire(case.id, "review", actor=DEST_CLERK, on=D(2025, 10, 9))
    engine.fire(case.id, "send_letter", actor=DEST_CLERK, on=D(2025, 10, 10))
    moved = engine.fire(case.id, "move_funds", actor=ORIGIN_CLERK, on=D(2025, 10, 20),
                        documents=["information_form"], amount="100")
    assert moved.state == "funds_moved"
    assert {s.owner_agency for s in engine.spans(case.id)} == {"310000", "440300"}


def test_an_agency_filter_of_alerts_is_normalised_like_the_stored_codes(engine):
    """An agency typed with full-width digits and a newline filters alerts like the stored code."""
    open_case(engine)
    engine.scan(D(2025, 11, 20))
    assert engine.alerts(agency="４４０３００\n") == engine.alerts(agency="440300") != []


# --- 2. agency codes: GB/T 2260 ------------------------------------------------------------

def test_the_division_list_names_provinces_prefectures_and_counties():
    """The GB/T 2260 list names a province-level city, a province, a prefecture and a county."""
    assert (name_of("310000"), name_of("440000"), name_of("440300"), name_of("110105")) == (
        "上海市", "广东省", "深圳市", "朝阳区")


def test_codes_newer_than_the_list_are_accepted_from_the_engine_argument(db_url):
    """A division code given in Engine(extra_divisions=...) is named and accepted for a case and
    for a clerk of that agency."""
    with Engine(db_url, extra_divisions={"449999": "新区"}) as engine:
        assert engine.divisions.name_of("449999") == "新区"
        case = open_case(engine, origin="449999")
        clerk = Actor("o-1", "origin_clerk", "449999")
        engine.fire(case.id, "review", actor=DEST_CLERK, on=D(2025, 10, 9))
        engine.fire(case.id, "send_letter", actor=DEST_CLERK, on=D(2025, 10, 10))
        assert engine.fire(case.id, "move_funds", actor=clerk, on=D(2025, 10, 20),
                           documents=["information_form"], amount=1).state == "funds_moved"


def test_codes_newer_than_the_list_are_accepted_from_divisions_extra_yaml(db_url, definitions_dir):
    """Division codes listed in definitions/divisions_extra.yaml (quoted or not) are named and
    accepted for a case."""
    (definitions_dir / "divisions_extra.yaml").write_text(
        "# a new district\ndivisions:\n  449999: 某新区\n  \"310199\": 上海新区\n", encoding="utf-8")
    with Engine(db_url, definitions=definitions_dir) as engine:
        assert engine.divisions.name_of("449999") == "某新区"
        assert open_case(engine, origin="310199").origin == "310199"


def test_a_malformed_extra_division_file_is_refused_with_its_line(definitions_dir):
    """An extra division code that is not six digits refuses the engine, naming the file and line."""
    (definitions_dir / "divisions_extra.yaml").write_text(
        "divisions:\n  \"440300\": 深圳市\n  \"44030\": 错\n", encoding="utf-8")
    with pytest.raises(DefinitionError, match=r"divisions_extra.yaml, line 3"):
        Engine("sqlite://", definitions=definitions_dir)


def test_the_shipped_extra_division_list_is_empty():
    """The shipped divisions_extra.yaml adds no division."""
    assert Engine("sqlite://").divisions.extra == {}


def test_an_extra_division_code_must_be_six_digits():
    """An extra division given in code must be six digits too."""
    with pytest.raises(InvalidInput):
        Divisions({"4403": "x"})


# --- 6. numbers ---------------------------------------------------------------------------

def test_the_largest_amount_the_column_holds_is_stored_exactly(engine):
    """The largest amount, 92233720368547758.07 yuan (a BIGINT of fen), is stored and read back
    exactly."""
    case = to_letter_sent(engine)
    engine.fire(case.id, "move_funds", actor=ORIGIN_CLERK, on=D(2025, 10, 20),
                documents=["information_form"], amount=str(MAX_AMOUNT))
    assert engine.get(case.id).amount == MAX_AMOUNT == Decimal("92233720368547758.07")


def test_parse_amount_reads_decimals_ints_and_plain_strings():
    """A Decimal (in exponent form too), an int and decimal text are each read as yuan with two
    decimal places."""
    assert [parse_amount(v) for v in (Decimal("1E+3"), 1000, "1000", "1000.5")] == [
        Decimal("1000.00"), Decimal("1000.00"), Decimal("1000.00"), Decimal("1000.50")]


# --- 7. names -----------------------------------------------------------------------------

def test_names_keep_every_cjk_character_middle_dots_and_letters_of_any_script(engine):
    """Names with middle dots and their look-alikes, 〇, characters beyond the BMP, accents,
    Cyrillic, digits and spaces are accepted and read back from the database exactly as typed
    (what a name may not hold: test_rules_pure)."""
    names = ["阿依古丽·买买提", "阿依古丽•买买提", "爱新觉罗・溥仪", "迪丽热巴‧迪力木拉提", "王〇", "𠀀𪚥龘",
             "José María O'Neil-Smith", "Ольга", "申请人12", "金 智 妍"]
    # each its own person: one running transfer per person and insurance
    ids = [open_case(engine, person_name=name, person_id=valid_person_id(seed=n)).id
           for n, name in enumerate(names)]
    assert [engine.get(case_id).person_name for case_id in ids] == names


@pytest.mark.parametrize("actor_id", ["hr\x00", "a" * 65, "hr\n7", "hr\u202e7", " "])
def test_an_actor_id_with_control_characters_or_too_long_is_refused(actor_id):
    """An actor id with a control character, a line break, a bidirectional override, of blanks
    only or longer than 64 characters is refused."""
    with pytest.raises(InvalidInput):
        Actor(actor_id, "employer")


def test_an_explanation_with_a_nul_character_is_refused(engine):
    """A rejection explanation holding a NUL character (which PostgreSQL text cannot store) is
    refused and writes nothing; one of several lines is stored."""
    case = open_case(engine)
    refused(engine, InvalidInput, engine.fire, case.id, "reject", actor=DEST_CLERK,
            on=D(2025, 10, 9), explanation="材料\x00不全")
    rejected = engine.fire(case.id, "reject", actor=DEST_CLERK, on=D(2025, 10, 9),
                           explanation="材料不全：\n缺少参保缴费凭证")
    assert rejected.state == "rejected"


# --- 9. bulk import: every row error names its line -----------------------------------------

def _app(**overrides):
    app = dict(definition="pension_transfer", person_id=PERSON_ID, person_name="张三",
               origin="310000", destination="440300", applicant="employer")
    app.update(overrides)
    return app


@pytest.mark.parametrize("bad, words", [
    ({"on": D(1999, 12, 31)}, "outside the calendar"),
    ({"on": D(2099, 12, 31)}, "after today"),
    ({"origin": "449999"}, "not a GB/T 2260 division code"),
    ({"person_name": "a\x00"}, "control character"),
])
def test_every_refused_line_of_a_batch_names_its_line(engine, bad, words):
    """A batch row dated off the calendar or after today, of an unknown agency or with a control
    character is refused as its line of the file, and nothing of the batch is written."""
    # (two people: one running transfer per person and insurance)
    err = refused(engine, InvalidRow, engine.open_cases,
                  [_app(), _app(person_id=OTHER_PERSON_ID), _app(**bad)],
                  actor=DEST_CLERK, on=D(2025, 9, 26), first_line=2)
    assert err.line == 4 and str(err).startswith("line 4: ") and words in str(err)


@pytest.mark.parametrize("applications", ["applications", 5, {"a": 1}, None])
def test_applications_that_are_not_a_list_are_refused(engine, applications):
    """A batch that is text, a number, a mapping or nothing instead of a list of applications is
    refused and writes nothing."""
    refused(engine, InvalidInput, engine.open_cases, applications, actor=DEST_CLERK,
            on=D(2025, 9, 26))


@pytest.mark.parametrize("bad", [1, "x", None, ["definition"]])
def test_an_application_that_is_not_a_mapping_is_refused_with_its_line(engine, bad):
    """A batch row that is not a mapping of open_case's arguments is refused naming its line."""
    err = refused(engine, InvalidRow, engine.open_cases, [_app(), bad], actor=DEST_CLERK,
                  on=D(2025, 9, 26))
    assert err.line == 2


# --- 5. business dates ----------------------------------------------------------------------

def test_a_step_dated_after_today_is_refused(engine):
    """One typo (2099) would otherwise block the case for good."""
    tomorrow = today() + dt.timedelta(days=1)
    err = refused(engine, InvalidInput, open_case, engine, on=tomorrow)
    assert "after today" in str(err)
    case = open_case(engine)
    refused(engine, InvalidInput, engine.fire, case.id, "review", actor=DEST_CLERK,
            on=D(2099, 12, 31))
    refused(engine, InvalidInput, engine.attach_documents, case.id, ["id_card"],
            actor=APPLICANT, on=tomorrow)
    assert engine.fire(case.id, "review", actor=DEST_CLERK, on=today()).state == "reviewed"


def test_max_days_ahead_lets_steps_be_dated_that_many_days_ahead(db_url):
    """With max_days_ahead = 3 a step may be dated three days after today, not four."""
    with Engine(db_url, settings=Settings(max_days_ahead=3)) as engine:
        assert open_case(engine, on=today() + dt.timedelta(days=3)).state == "applied"
        err = refused(engine, InvalidInput, open_case, engine, on=today() + dt.timedelta(days=4))
        assert "more than 3 day(s) after today" in str(err)


@pytest.mark.parametrize("typed", ["20250926", "2025-W39-5", "2025-269", "2025-9-26",
                                   "2025-09-26T00:00", "2025-02-30", "２０２５/０９/２６", ""])
def test_a_business_date_is_typed_as_yyyy_mm_dd_only(typed):
    """A business date is typed as YYYY-MM-DD: compact, week, ordinal, unpadded and datetime forms,
    an impossible day, slashes and nothing are refused naming the format."""
    with pytest.raises(InvalidInput, match="YYYY-MM-DD"):
        parse_date(typed, "--on")


def test_a_business_date_with_full_width_digits_or_padding_is_read():
    """A YYYY-MM-DD date typed in full-width digits with padding is read."""
    assert parse_date(" ２０２５-０９-２６\n") == D(2025, 9, 26)


SUPERVISOR = Actor("s-1", "supervisor", "440300")


def test_a_supervisor_corrects_the_business_date_of_the_last_step(engine):
    """The step's date moves, the span it started is due 15 working days from the right
    date, the span it ended ends then, and a history row records the correction."""
    case = open_case(engine)
    engine.fire(case.id, "review", actor=DEST_CLERK, on=D(2025, 10, 9))
    engine.fire(case.id, "send_letter", actor=DEST_CLERK, on=D(2025, 11, 10))  # typo: 10-10
    case = engine.correct_business_date(case.id, D(2025, 10, 10), actor=SUPERVISOR,
                                        reason="typed 11 for 10")
    assert (case.last_event_on, case.version) == (D(2025, 10, 10), 4)
    spans = {s.name: s for s in engine.spans(case.id)}
    assert spans["origin_transfer"].started_on == D(2025, 10, 10)
    assert spans["origin_transfer"].due_on == engine.calendar.add_working_days(D(2025, 10, 10), 15)
    *_, letter, correction = engine.history(case.id)
    assert (letter.trigger, letter.business_date) == ("send_letter", D(2025, 10, 10))
    assert (correction.trigger, correction.actor_role, correction.comment) == (
        "correct_business_date", "supervisor", "typed 11 for 10")
    assert correction.inputs == {"step": 3, "trigger": "send_letter", "from": "2025-11-10",
                                 "to": "2025-10-10"}
    assert engine.fire(case.id, "move_funds", actor=ORIGIN_CLERK, on=D(2025, 10, 20),
                       documents=["information_form"], amount=1).state == "funds_moved"


def test_correcting_the_opening_date_moves_the_opening_and_the_review(engine):
    """Correcting the opening date (received 2025-09-26, typed 09-29) moves the case's opening and
    the review span, due 15 working days after the right date."""
    case = open_case(engine, on=D(2025, 9, 29))
    case = engine.correct_business_date(case.id, D(2025, 9, 26), actor=SUPERVISOR,
                                        reason="received on Friday")
    assert (case.opened_on, case.last_event_on) == (D(2025, 9, 26), D(2025, 9, 26))
    [review] = engine.spans(case.id)
    assert (review.started_on, review.due_on) == (D(2025, 9, 26), D(2025, 10, 23))


def test_correcting_a_final_step_moves_the_end_of_the_spans_it_ended(engine):
    """Correcting the date of a withdrawal moves the end of the span it ended."""
    case = open_case(engine)
    engine.fire(case.id, "withdraw", actor=APPLICANT, on=D(2025, 10, 20))
    engine.correct_business_date(case.id, D(2025, 10, 2), actor=SUPERVISOR, reason="typo")
    [review] = engine.spans(case.id)
    assert review.ended_on == D(2025, 10, 2)


@pytest.mark.parametrize("actor", [DEST_CLERK, APPLICANT, Actor("s-9", "supervisor", "110000"),
                                   Actor("s-9", "supervisor")])
def test_only_a_supervisor_of_the_cases_agencies_may_correct_a_business_date(engine, actor):
    """A clerk, the applicant, a supervisor of another agency or of none may not correct a business
    date: only a supervisor of agency 310000 or 440300; nothing is written."""
    case = open_case(engine)
    err = refused(engine, NotPermitted, engine.correct_business_date, case.id, D(2025, 9, 29),
                  actor=actor, reason="typo")
    assert "supervisor of agency 310000 or 440300" in str(err)


@pytest.mark.parametrize("new_date, reason", [
    (D(2025, 10, 8), "typo"),  # before the review of 2025-10-09
    (D(2025, 10, 10), ""),  # no reason
    (D(2025, 10, 10), "a\x00"),
    (D(2099, 1, 1), "typo"),  # after today
    (D(2025, 10, 20), "typo"),  # the date it already has
    ("2025-10-10", "typo"),
])
def test_a_correction_to_an_impossible_date_or_without_a_reason_is_refused(engine, new_date,
                                                                          reason):
    """A correction to a date before the step before, after today, the same date, or given as text,
    or without a plain-text reason, is refused and writes nothing."""
    case = open_case(engine)
    engine.fire(case.id, "review", actor=DEST_CLERK, on=D(2025, 10, 9))
    engine.fire(case.id, "send_letter", actor=DEST_CLERK, on=D(2025, 10, 20))
    refused(engine, InvalidInput, engine.correct_business_date, case.id, new_date,
            actor=SUPERVISOR, reason=reason)


# --- 8. the applicant's identity in databases made before it was recorded -------------------

def test_migration_0003_takes_the_applicant_of_older_cases_from_their_opening_step(db_url):
    """A case its employer opened keeps that employer as applicant; one a clerk opened has
    none recorded (a destination clerk acts for the applicant then)."""
    import sqlalchemy as sa

    from workflow import store

    db = store.connect(db_url)
    store.upgrade(db, "0002")
    now = store.now()
    with db.begin() as conn:
        meta = sa.MetaData()
        cases = sa.Table("transfer_case", meta, autoload_with=conn)
        history = sa.Table("case_history", meta, autoload_with=conn)
        for case_id, (actor_id, role) in enumerate([("hr-7", "employer"),
                                                    ("c-12", "destination_clerk")], 1):
            conn.execute(sa.insert(cases).values(
                id=case_id, definition_name="pension_transfer", definition_version=1,
                insurance="pension", state="applied", version=1, person_id=PERSON_ID,
                person_name="张三", origin="310000", destination="440300",
                scope="cross_province", applicant="employer", channel="counter",
                documents=full_documents("pension_transfer"), requested_documents=[],
                opened_on=D(2025, 9, 26), last_event_on=D(2025, 9, 26), created_at=now,
                updated_at=now))
            conn.execute(sa.insert(history).values(
                case_id=case_id, seq=1, trigger="open", from_state=None, to_state="applied",
                actor_id=actor_id, actor_role=role, actor_agency=None,
                business_date=D(2025, 9, 26), recorded_at=now, documents=[], inputs={}))
    db.dispose()
    with Engine(db_url, auto_upgrade=True) as engine:
        assert [c.applicant_id for c in engine.cases()] == ["hr-7", None]
        refused(engine, NotPermitted, engine.fire, 2, "withdraw", actor=APPLICANT,
                on=D(2025, 10, 9))
        assert engine.fire(1, "withdraw", actor=APPLICANT, on=D(2025, 10, 9)).state == "withdrawn"
        assert engine.fire(2, "withdraw", actor=DEST_CLERK, on=D(2025, 10, 9)).state == "withdrawn"
