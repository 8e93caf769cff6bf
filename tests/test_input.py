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
    PERSON_ID,
    full_documents,
    open_case,
    refused,
)
from stdnum.cn import ric

from workflow import Actor, Engine, InvalidInput, InvalidRow, NotPermitted, Settings, today
from workflow.core.divisions import Divisions, name_of
from workflow.core.inputs import MAX_AMOUNT, MAX_MONTHS, NAME_MAX, normalise, parse_amount, parse_date
from workflow.errors import DefinitionError

D = dt.date




def to_letter_sent(engine, **overrides):
    case = open_case(engine, **overrides)
    engine.fire(case.id, "review", actor=DEST_CLERK, on=D(2025, 10, 9))
    return engine.fire(case.id, "send_letter", actor=DEST_CLERK, on=D(2025, 10, 10))


def id_number(place: str, birth: dt.date) -> str:
    body = f"{place}{birth:%Y%m%d}001"
    return body + ric.calc_check_digit(body + "0")


# --- 1. full-width digits and stray whitespace ------------------------------------------

@pytest.mark.parametrize("typed, stored", [
    ("３１００００", "310000"), ("310000\n", "310000"), (" 310000\t", "310000"),
    ("\u3000３１００００\u3000", "310000"), ("2025-09-26\r\n", "2025-09-26"),
])
def test_normalise_turns_full_width_digits_into_ascii_and_strips_whitespace(typed, stored):
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


def test_an_id_number_typed_with_full_width_digits_and_padding_is_stored_as_ascii(engine):
    typed = " １１０１０５１９４９１２３１００２ｘ\n"
    assert open_case(engine, person_id=typed).person_id == PERSON_ID


@pytest.mark.parametrize("typed", [" １２３４５.６０ ", "12345.60\n", "１２３４５．６０"])
def test_an_amount_typed_with_full_width_digits_or_padding_is_the_exact_sum(engine, typed):
    case = to_letter_sent(engine)
    moved = engine.fire(case.id, "move_funds", actor=ORIGIN_CLERK, on=D(2025, 10, 20),
                        documents=["information_form"], amount=typed)
    assert moved.amount == Decimal("12345.60")
    assert engine.history(case.id)[-1].inputs == {"amount": "12345.60"}


def test_triggers_document_kinds_applicant_and_channel_are_normalised_too(engine):
    case = open_case(engine, applicant=" employer\n", channel="counter ",
                     documents=[f" {d}\n" for d in full_documents("pension_transfer")])
    assert (case.applicant, case.channel) == ("employer", "counter")
    assert engine.fire(case.id, "review\n", actor=DEST_CLERK, on=D(2025, 10, 9)).state == "reviewed"


@pytest.mark.parametrize("code", ["٣١٠٠٠٠", "310 000", "31000", "3100000", "310000x", "", None,
                                  310000])
def test_an_agency_code_that_is_not_six_ascii_digits_once_normalised_is_refused(engine, code):
    """Arabic-Indic digits are digits to Python, but no GB/T 2260 code."""
    err = refused(engine, InvalidInput, open_case, engine, origin=code)
    assert "6-digit administrative division code" in str(err)


def test_an_agency_filter_of_alerts_is_normalised_like_the_stored_codes(engine):
    open_case(engine)
    engine.scan(D(2025, 11, 20))
    assert engine.alerts(agency="４４０３００\n") == engine.alerts(agency="440300") != []


# --- 2. agency codes: GB/T 2260 ------------------------------------------------------------

def test_the_division_list_names_provinces_prefectures_and_counties():
    assert (name_of("310000"), name_of("440000"), name_of("440300"), name_of("110105")) == (
        "上海市", "广东省", "深圳市", "朝阳区")


@pytest.mark.parametrize("code", ["449999", "123456", "110103", "990000"])
def test_an_agency_code_not_in_use_in_gb_t_2260_is_refused(engine, code):
    """449999 and 123456 have a real province prefix but name nothing; 110103 (崇文区) was
    abolished in 2010."""
    assert name_of(code) is None
    err = refused(engine, InvalidInput, open_case, engine, destination=code)
    assert f"destination {code} is not a GB/T 2260 division code in use" in str(err)
    assert "divisions_extra.yaml" in str(err)


@pytest.mark.parametrize("origin", ["110000", "440100", "110105"])
def test_province_prefecture_and_county_codes_are_agencies(engine, origin):
    assert open_case(engine, origin=origin).origin == origin


def test_a_clerk_of_an_agency_not_in_the_list_is_refused(engine):
    case = open_case(engine)
    refused(engine, InvalidInput, engine.fire, case.id, "review",
            actor=Actor("c-1", "destination_clerk", "449999"), on=D(2025, 10, 9))


def test_codes_newer_than_the_list_are_accepted_from_the_engine_argument(db_url):
    with Engine(db_url, extra_divisions={"449999": "新区"}) as engine:
        assert engine.divisions.name_of("449999") == "新区"
        case = open_case(engine, origin="449999")
        clerk = Actor("o-1", "origin_clerk", "449999")
        engine.fire(case.id, "review", actor=DEST_CLERK, on=D(2025, 10, 9))
        engine.fire(case.id, "send_letter", actor=DEST_CLERK, on=D(2025, 10, 10))
        assert engine.fire(case.id, "move_funds", actor=clerk, on=D(2025, 10, 20),
                           documents=["information_form"], amount=1).state == "funds_moved"


def test_codes_newer_than_the_list_are_accepted_from_divisions_extra_yaml(db_url, definitions_dir):
    (definitions_dir / "divisions_extra.yaml").write_text(
        "# a new district\ndivisions:\n  449999: 某新区\n  \"310199\": 上海新区\n", encoding="utf-8")
    with Engine(db_url, definitions=definitions_dir) as engine:
        assert engine.divisions.name_of("449999") == "某新区"
        assert open_case(engine, origin="310199").origin == "310199"


def test_a_malformed_extra_division_file_is_refused_with_its_line(definitions_dir):
    (definitions_dir / "divisions_extra.yaml").write_text(
        "divisions:\n  \"440300\": 深圳市\n  \"44030\": 错\n", encoding="utf-8")
    with pytest.raises(DefinitionError, match=r"divisions_extra.yaml, line 3"):
        Engine("sqlite://", definitions=definitions_dir)


def test_the_shipped_extra_division_list_is_empty():
    assert Engine("sqlite://").divisions.extra == {}


def test_an_extra_division_code_must_be_six_digits():
    with pytest.raises(InvalidInput):
        Divisions({"4403": "x"})


# --- 3. ID numbers ------------------------------------------------------------------------

@pytest.mark.parametrize("birth", [D(2099, 12, 31), today() + dt.timedelta(days=1)])
def test_an_id_number_with_a_birth_date_in_the_future_is_refused(engine, birth):
    number = id_number("110105", birth)
    assert ric.is_valid(number)  # the check digit is right
    err = refused(engine, InvalidInput, open_case, engine, person_id=number)
    assert "birth date is in the future" in str(err) and number not in str(err)


def test_an_id_number_of_someone_born_today_is_accepted(engine):
    number = id_number("110105", today())
    assert open_case(engine, person_id=number).person_id == number


# --- 6. numbers ---------------------------------------------------------------------------

@pytest.mark.parametrize("amount", [
    "1e3", "1E3", "12,345.00", "0x10", "Infinity", "٣٠", "+5", ".5", "5.", "1_000",
    str(10 ** 17), 10 ** 30, Decimal("1e30"), MAX_AMOUNT + Decimal("0.01"), -(10 ** 30),
    "9" * 100_000,
])
def test_an_amount_that_is_no_plain_sum_within_the_database_column_is_refused(engine, amount):
    """No exponent, separators or sign; at most 92233720368547758.07 yuan (a BIGINT of fen)."""
    case = to_letter_sent(engine)
    err = refused(engine, InvalidInput, engine.fire, case.id, "move_funds", actor=ORIGIN_CLERK,
                  on=D(2025, 10, 20), documents=["information_form"], amount=amount)
    assert len(str(err)) < 200


def test_the_largest_amount_the_column_holds_is_stored_exactly(engine):
    case = to_letter_sent(engine)
    engine.fire(case.id, "move_funds", actor=ORIGIN_CLERK, on=D(2025, 10, 20),
                documents=["information_form"], amount=str(MAX_AMOUNT))
    assert engine.get(case.id).amount == MAX_AMOUNT == Decimal("92233720368547758.07")


@pytest.mark.parametrize("months", [10 ** 30, 10 ** 6, MAX_MONTHS + 1, -1])
def test_contribution_months_beyond_a_working_life_are_refused_naming_the_bound(engine, months):
    case = to_letter_sent(engine)
    engine.fire(case.id, "move_funds", actor=ORIGIN_CLERK, on=D(2025, 10, 20),
                documents=["information_form"], amount=1)
    err = refused(engine, InvalidInput, engine.fire, case.id, "continue_relationship",
                  actor=DEST_CLERK, on=D(2025, 10, 30), contribution_months=months)
    assert "from 0 to 720 (60 years of working life)" in str(err)


def test_a_working_life_of_contribution_months_is_accepted(engine):
    case = to_letter_sent(engine)
    engine.fire(case.id, "move_funds", actor=ORIGIN_CLERK, on=D(2025, 10, 20),
                documents=["information_form"], amount=1)
    assert engine.fire(case.id, "continue_relationship", actor=DEST_CLERK, on=D(2025, 10, 30),
                       contribution_months=MAX_MONTHS).contribution_months == 720


def test_parse_amount_reads_decimals_ints_and_plain_strings():
    assert [parse_amount(v) for v in (Decimal("1E+3"), 1000, "1000", "1000.5")] == [
        Decimal("1000.00"), Decimal("1000.00"), Decimal("1000.00"), Decimal("1000.50")]


# --- 7. names -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", [
    "阿依古丽·买买提", "阿依古丽•买买提", "爱新觉罗・溥仪", "迪丽热巴‧迪力木拉提", "王〇", "𠀀𪚥龘",
    "José María O'Neil-Smith", "Ольга", "申请人12", "金 智 妍",
])
def test_names_keep_every_cjk_character_middle_dots_and_letters_of_any_script(engine, name):
    assert open_case(engine, person_name=name).person_name == name


@pytest.mark.parametrize("name, words", [
    ("张\x00三", "a control character (U+0000)"),
    ("张三\x07", "a control character (U+0007)"),
    ("张\n三", "a control character (U+000A)"),
    ("张三\u202e", "a control character (U+202E)"),
    ("张三😀", "'😀' (U+1F600)"),
    ('=HYPERLINK("http://x","点我")', "'=' (U+003D)"),
    ("[/]", "'[' (U+005B)"),
    ("张" * (NAME_MAX + 1), f"{NAME_MAX + 1} characters long; the limit is {NAME_MAX}"),
    ("张" * 100_000, "the limit is 100"),
])
def test_a_name_with_control_characters_symbols_emoji_or_too_long_is_refused(engine, name, words):
    err = refused(engine, InvalidInput, open_case, engine, person_name=name)
    assert words in str(err) and "\n" not in str(err)


@pytest.mark.parametrize("actor_id", ["hr\x00", "a" * 65, "hr\n7", "hr\u202e7", " "])
def test_an_actor_id_with_control_characters_or_too_long_is_refused(actor_id):
    with pytest.raises(InvalidInput):
        Actor(actor_id, "employer")


def test_an_explanation_with_a_nul_character_is_refused(engine):
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
    err = refused(engine, InvalidRow, engine.open_cases, [_app(), _app(), _app(**bad)],
                  actor=DEST_CLERK, on=D(2025, 9, 26), first_line=2)
    assert err.line == 4 and str(err).startswith("line 4: ") and words in str(err)


@pytest.mark.parametrize("applications", ["applications", 5, {"a": 1}, None])
def test_applications_that_are_not_a_list_are_refused(engine, applications):
    refused(engine, InvalidInput, engine.open_cases, applications, actor=DEST_CLERK,
            on=D(2025, 9, 26))


@pytest.mark.parametrize("bad", [1, "x", None, ["definition"]])
def test_an_application_that_is_not_a_mapping_is_refused_with_its_line(engine, bad):
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
    with Engine(db_url, settings=Settings(max_days_ahead=3)) as engine:
        assert open_case(engine, on=today() + dt.timedelta(days=3)).state == "applied"
        err = refused(engine, InvalidInput, open_case, engine, on=today() + dt.timedelta(days=4))
        assert "more than 3 day(s) after today" in str(err)


@pytest.mark.parametrize("typed", ["20250926", "2025-W39-5", "2025-269", "2025-9-26",
                                   "2025-09-26T00:00", "2025-02-30", "２０２５/０９/２６", ""])
def test_a_business_date_is_typed_as_yyyy_mm_dd_only(typed):
    with pytest.raises(InvalidInput, match="YYYY-MM-DD"):
        parse_date(typed, "--on")


def test_a_business_date_with_full_width_digits_or_padding_is_read():
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
    case = open_case(engine, on=D(2025, 9, 29))
    case = engine.correct_business_date(case.id, D(2025, 9, 26), actor=SUPERVISOR,
                                        reason="received on Friday")
    assert (case.opened_on, case.last_event_on) == (D(2025, 9, 26), D(2025, 9, 26))
    [review] = engine.spans(case.id)
    assert (review.started_on, review.due_on) == (D(2025, 9, 26), D(2025, 10, 23))


def test_correcting_a_final_step_moves_the_end_of_the_spans_it_ended(engine):
    case = open_case(engine)
    engine.fire(case.id, "withdraw", actor=APPLICANT, on=D(2025, 10, 20))
    engine.correct_business_date(case.id, D(2025, 10, 2), actor=SUPERVISOR, reason="typo")
    [review] = engine.spans(case.id)
    assert review.ended_on == D(2025, 10, 2)


@pytest.mark.parametrize("actor", [DEST_CLERK, APPLICANT, Actor("s-9", "supervisor", "110000"),
                                   Actor("s-9", "supervisor")])
def test_only_a_supervisor_of_the_cases_agencies_may_correct_a_business_date(engine, actor):
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
