"""Deadlines as the law and the agencies count them: committed limits (承诺时限) next to the
statutory ones, the receipt policy, month-end rest days, and recomputation."""

from __future__ import annotations

import datetime as dt
import textwrap
from decimal import Decimal
from pathlib import Path

import holidays
import pytest
from conftest import ORIGIN_CLERK, PERSON_ID, open_case, snapshot
from hypothesis import given, settings
from hypothesis import strategies as st

from workflow import DefinitionError, DefinitionSet, Engine, Settings, WorkingCalendar
from workflow.loading import COMMITMENTS_FILE

#: The recompute tests record steps in December 2026, which may still be ahead of today.
AHEAD = Settings(max_days_ahead=366)

D = dt.date
CAL = WorkingCalendar()

# Clearly illustrative commitments, not any agency's published ones.
COMMITMENTS = """\
commitments:
  - definition: medical_transfer
    span: destination_continuation
    agency: "440300"
    working_days: 3
    source: test data, not a real commitment
  - definition: medical_transfer
    span: destination_continuation
    province: "44"
    working_days: 4
    source: test data, not a real commitment
  - definition: pension_transfer
    span: destination_review
    province: 44
    working_days: 7
    source: test data, not a real commitment
"""


def with_commitments(folder: Path, text: str = COMMITMENTS) -> Path:
    (folder / COMMITMENTS_FILE).write_text(textwrap.dedent(text), encoding="utf-8")
    return folder


def running(engine, case_id):
    return {s.name: s for s in engine.spans(case_id) if s.ended_on is None}


def to_funds_moved(engine, **kwargs):
    """A medical (2021) case whose information form reached the destination on 2025-10-17."""
    case = open_case(engine, "medical_transfer", **kwargs)
    engine.fire(case.id, "review", actor=ORIGIN_CLERK, on=D(2025, 9, 29))
    return engine.fire(case.id, "move_funds", actor=ORIGIN_CLERK, on=D(2025, 10, 17),
                       documents=["information_form"], amount=Decimal("1.00"))


# --- the committed-limits file ---------------------------------------------------------------

def test_a_committed_limit_above_the_statutory_one_refuses_the_file_naming_its_line(definitions_dir):
    """Medical transfer-in is 5 working days by statute (43号): a commitment of 7 is refused."""
    with_commitments(definitions_dir, COMMITMENTS.replace("working_days: 3", "working_days: 7"))
    with pytest.raises(DefinitionError) as info:
        DefinitionSet(definitions_dir)
    assert info.value.path.endswith(COMMITMENTS_FILE) and info.value.line == 5
    assert "committed limit of 7 working days for destination_continuation is above the " \
           "statutory 5 of medical_transfer version 2" in str(info.value)


def test_a_commitment_for_every_version_is_checked_against_each_of_them(definitions_dir):
    """12 working days for medical origin_transfer fits version 1 (15) but not version 2 (10)."""
    with_commitments(definitions_dir, """\
        commitments:
          - {definition: medical_transfer, span: origin_transfer, agency: "310000", working_days: 12,
             source: test data}
        """)
    with pytest.raises(DefinitionError, match="above the statutory 10 of medical_transfer version 2"):
        DefinitionSet(definitions_dir)
    with_commitments(definitions_dir, """\
        commitments:
          - {definition: medical_transfer, version: 1, span: origin_transfer, agency: "310000",
             working_days: 12, source: test data}
        """)
    assert DefinitionSet(definitions_dir).commitments.entries[0].working_days == 12


def test_the_same_commitment_twice_is_refused_naming_both_lines(definitions_dir):
    """The same commitment (definition, span, place) given twice refuses the file, naming the line
    of the second and of the first."""
    with_commitments(definitions_dir, COMMITMENTS + COMMITMENTS.split("\n", 1)[1])
    with pytest.raises(DefinitionError, match=r"line 17: a second commitment .*first is on line 2"):
        DefinitionSet(definitions_dir)


@pytest.mark.parametrize("old, new, words", [
    ("span: destination_continuation\n    agency", "span: premium_payment\n    agency",
     "counts calendar months"),
    ("span: destination_continuation\n    agency", "span: acceptance\n    agency",
     "has no span 'acceptance'"),
    ('agency: "440300"', 'agency: "4403"', "agency"),
    ('agency: "440300"', 'agency: "440300"\n    province: "44"', "exactly one of agency"),
])
def test_a_commitment_must_name_a_known_working_day_span_and_one_place(definitions_dir, old, new,
                                                                       words):
    """A commitment names a span of the definition that counts working days (not the person's
    calendar months), and exactly one valid agency code or province; otherwise the file is refused."""
    with_commitments(definitions_dir, COMMITMENTS.replace(old, new, 1))
    with pytest.raises(DefinitionError, match=words) as info:
        DefinitionSet(definitions_dir)
    assert COMMITMENTS_FILE in str(info.value)


# --- spans carry both due dates ---------------------------------------------------------------

def test_a_span_with_a_commitment_has_a_committed_and_a_statutory_due_date(definitions_dir, db_url):
    """Form received 2025-10-17 by 440300 (3 committed): committed 2025-10-22, statutory 2025-10-24;
    440100 falls under its province's 4 (2025-10-23); 110000 has no commitment."""
    with Engine(db_url, definitions=with_commitments(definitions_dir)) as engine:
        spans = {}
        for destination in ("440300", "440100", "110000"):
            case = to_funds_moved(engine, destination=destination,
                                  actor=ORIGIN_CLERK)
            spans[destination] = running(engine, case.id)["destination_continuation"]
    assert {a: (s.committed_limit_working_days, s.committed_due_on, s.due_on)
            for a, s in spans.items()} == {
        "440300": (3, D(2025, 10, 22), D(2025, 10, 24)),
        "440100": (4, D(2025, 10, 23), D(2025, 10, 24)),
        "110000": (None, None, D(2025, 10, 24)),
    }


def test_a_city_committing_7_working_days_for_pension_review(definitions_dir, db_url):
    """A pension application received 2025-09-26 by 440300 (province 44 commits 7): committed
    2025-10-13 (make-up days 09-28 and 10-11 count), statutory 2025-10-23."""
    with Engine(db_url, definitions=with_commitments(definitions_dir)) as engine:
        case = open_case(engine)
        review = running(engine, case.id)["destination_review"]
    assert (review.committed_due_on, review.due_on) == (D(2025, 10, 13), D(2025, 10, 23))
    assert review.to_dict()["committed_due_on"] == "2025-10-13"


def test_alerts_are_judged_by_the_committed_date_and_a_statutory_breach_is_raised_once(
        definitions_dir, db_url):
    """Committed 2025-10-22, statutory 2025-10-24: due soon on 10-22, overdue on 10-23,
    statutory_breach on 10-27 (once), escalated 5 working days after the committed date."""
    with Engine(db_url, definitions=with_commitments(definitions_dir)) as engine:
        case = to_funds_moved(engine)

        def levels(as_of):
            result = engine.scan(as_of)
            return sorted((a.level, a.due_on, a.working_days_late)
                          for a in engine.alerts(run_id=result.run_id) if a.case_id == case.id)

        assert levels(D(2025, 10, 22)) == [("due_soon", D(2025, 10, 22), 0)]
        assert levels(D(2025, 10, 23)) == [("overdue", D(2025, 10, 22), 1)]
        assert levels(D(2025, 10, 24)) == []
        assert levels(D(2025, 10, 27)) == [("statutory_breach", D(2025, 10, 24), 1)]
        assert levels(D(2025, 10, 28)) == []
        assert levels(D(2025, 10, 29)) == [("escalated", D(2025, 10, 22), 5)]


def test_without_a_commitment_overdue_is_judged_by_the_statutory_date_alone(engine):
    """Statutory 2025-10-24 (medical, 2021): overdue on 10-27, no separate statutory_breach."""
    case = to_funds_moved(engine)
    result = engine.scan(D(2025, 10, 27))
    assert [(a.level, a.due_on) for a in engine.alerts(run_id=result.run_id)
            if a.case_id == case.id] == [("overdue", D(2025, 10, 24))]


def test_the_overdue_report_shows_both_dates_and_counts_both(definitions_dir, db_url, tmp_path):
    """As of 2025-10-23 the 440300 span (committed 10-22) is late, not yet against the statute;
    as of 2025-10-27 it is past both."""
    import csv

    from workflow.render import write_report

    with Engine(db_url, definitions=with_commitments(definitions_dir)) as engine:
        to_funds_moved(engine)
        early, late = engine.overdue_report(D(2025, 10, 23)), engine.overdue_report(D(2025, 10, 27))
        assert (early.agencies["440300"].overdue, early.agencies["440300"].statutory_breaches) == (1, 0)
        assert (late.agencies["440300"].overdue, late.agencies["440300"].statutory_breaches) == (1, 1)
        [line] = [x for x in late.lines() if x.span == "destination_continuation"]
        assert (line.committed_due_on, line.due_on, line.working_days_late, line.statutory_breach) \
            == (D(2025, 10, 22), D(2025, 10, 24), 3, True)
        with write_report(late, "csv", tmp_path / "r.csv", "en").open(encoding="utf-8-sig") as f:
            title = engine.definition(line.definition, line.definition_version).title(
                "span", line.span, "en")
            [row] = [r for r in csv.DictReader(f) if r["span"] == title]
        assert (row["committed due"], row["statutory due"], row["past statutory due"]) == (
            "2025-10-22", "2025-10-24", "yes")
        html = write_report(late, "html", tmp_path / "r.html").read_text(encoding="utf-8")
        assert "超过法定时限" in html and "2025年10月22日" in html and "2025年10月24日" in html
        before = snapshot(engine)  # a report writes nothing
        engine.overdue_report(D(2025, 10, 27))
        assert snapshot(engine) == before


# --- the receipt convention, a declared policy of a definition ----------------------------------

COUNT, RECEIVED = "count_from_next_working_day", "received_next_working_day"


@pytest.mark.parametrize("received, policy, n, due", [
    # Saturday 2025-11-22: day 1 is Monday 11-24, or (received Monday) Tuesday 11-25.
    (D(2025, 11, 22), COUNT, 1, D(2025, 11, 24)),
    (D(2025, 11, 22), RECEIVED, 1, D(2025, 11, 25)),
    (D(2025, 11, 22), RECEIVED, 15, D(2025, 12, 15)),
    # Saturday 2025-09-27, before the make-up Sunday 09-28.
    (D(2025, 9, 27), COUNT, 15, D(2025, 10, 23)),
    (D(2025, 9, 27), RECEIVED, 15, D(2025, 10, 24)),
    # Spring Festival 2026 (02-15..02-23 off): received on 02-17.
    (D(2026, 2, 17), COUNT, 1, D(2026, 2, 24)),
    (D(2026, 2, 17), RECEIVED, 1, D(2026, 2, 25)),
    (D(2026, 2, 17), RECEIVED, 4, D(2026, 2, 28)),  # the make-up Saturday is day 4
    # A receipt on a working day is the same under both.
    (D(2025, 9, 26), COUNT, 15, D(2025, 10, 23)),
    (D(2025, 9, 26), RECEIVED, 15, D(2025, 10, 23)),
])
def test_a_receipt_on_a_non_working_day_counts_under_the_definitions_policy(received, policy, n,
                                                                           due):
    """A receipt on a rest day counts day 1 from the next working day, or (received_next_working_day)
    is taken as received on that day, so the limit ends one working day later; on a working day
    both policies agree."""
    assert CAL.due(received, n, policy).on == due


def independent_due(received: D, n: int, policy: str) -> D:
    """A day-by-day count on the `holidays` package's own answers (not our tables)."""
    lib = holidays.China(years=range(received.year, received.year + 3))
    day = received
    if policy == RECEIVED:
        while not lib.is_working_day(day):
            day += dt.timedelta(days=1)
    while n:
        day += dt.timedelta(days=1)
        n -= lib.is_working_day(day)
    return day


@settings(max_examples=300, deadline=None)
@given(st.dates(min_value=D(2001, 1, 1), max_value=D(2025, 10, 31)), st.integers(1, 30),
       st.sampled_from([COUNT, RECEIVED]))
def test_the_due_date_equals_an_independent_day_by_day_count_under_each_policy(received, n,
                                                                               policy):
    """Under either receipt policy a due date equals a day-by-day count on the holidays package's own
    working days, for any receipt from 2001 on."""
    assert CAL.due(received, n, policy).on == independent_due(received, n, policy)


def test_a_definition_declaring_received_next_working_day_counts_one_day_longer(definitions_dir,
                                                                                db_url):
    """An application received on Saturday 2025-09-27 is due 2025-10-24, and the span says why."""
    path = definitions_dir / "pension_transfer.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "insurance: pension\n", "insurance: pension\nreceipt_on_non_working_day: "
        "received_next_working_day\n"), encoding="utf-8")
    with Engine(db_url, definitions=definitions_dir) as engine:
        case = open_case(engine, on=D(2025, 9, 27))
        review = running(engine, case.id)["destination_review"]
    assert review.due_on == D(2025, 10, 24)
    assert "counted as received on 2025-09-28" in review.due_note


def test_an_unknown_receipt_policy_refuses_the_definition(definitions_dir):
    """A receipt_on_non_working_day that is neither known policy refuses the definition, naming the
    line it is on."""
    path = definitions_dir / "pension_transfer.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "insurance: pension\n", "insurance: pension\nreceipt_on_non_working_day: whenever\n"),
        encoding="utf-8")
    with pytest.raises(DefinitionError, match="receipt_on_non_working_day") as info:
        DefinitionSet(definitions_dir)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[info.value.line - 1] == "receipt_on_non_working_day: whenever"


# --- calendar months that end on a rest day (Civil Code art. 203) --------------------------------

@pytest.mark.parametrize("start, months, due, moved", [
    (D(2025, 12, 1), 3, D(2026, 3, 2), True),     # 2026-03-01 is a Sunday
    (D(2025, 11, 15), 3, D(2026, 2, 24), True),   # 2026-02-15 is in Spring Festival
    (D(2025, 11, 30), 3, D(2026, 2, 28), False),  # the month's last day, a make-up Saturday
    (D(2025, 10, 13), 3, D(2026, 1, 13), False),  # a Tuesday
])
def test_a_calendar_month_limit_ending_on_a_rest_day_moves_to_the_next_working_day(start, months,
                                                                                  due, moved):
    """A limit of calendar months that ends on a Sunday or in Spring Festival moves to the next working
    day with a note citing Civil Code art. 203; one ending on a working day (a make-up Saturday
    included) stays, without a note."""
    result = CAL.due_in_months(start, months)
    assert result.on == due
    assert (result.note is not None) is moved
    if moved:
        assert "Civil Code art. 203" in result.note


def test_the_persons_premium_span_says_its_end_moved_off_spring_festival(engine):
    """Funds left the origin 2025-11-15: three months end 2026-02-15 (Spring Festival), so the
    person has until 2026-02-24."""
    from workflow import Actor

    me = Actor("p-1", "self", person_id=PERSON_ID)
    case = open_case(engine, "medical_transfer", applicant="self", actor=me)
    engine.fire(case.id, "review", actor=ORIGIN_CLERK, on=D(2025, 9, 29))
    engine.fire(case.id, "move_funds", actor=ORIGIN_CLERK, on=D(2025, 11, 15),
                documents=["information_form"], amount=0)
    premium = running(engine, case.id)["premium_payment"]
    assert premium.due_on == D(2026, 2, 24)
    assert premium.due_note == ("2026-02-15 is not a working day: moved to the next working day "
                                "2026-02-24 (Civil Code art. 203)")


# --- the holidays library ------------------------------------------------------------------------

def test_a_holidays_release_older_than_0_85_is_refused_with_a_clear_error(monkeypatch):
    """0.84 lacks China's 2026 schedule and would count Spring Festival 2026 as working days."""
    import dataclasses

    from workflow import OutdatedLibrary, loading
    from workflow.core.calendar import library_days

    def of_release(version):
        days = dataclasses.replace(library_days(), version=version)
        monkeypatch.setattr(loading, "cached_library_days", lambda: days)

    of_release("0.84")
    with pytest.raises(OutdatedLibrary, match=r"holidays 0\.84 is older than 0\.85.*"
                                              r"pip install 'holidays>=0\.85'"):
        WorkingCalendar()
    of_release("0.85")
    assert WorkingCalendar().is_official(2026)


def test_installing_the_package_never_brings_a_holidays_release_the_calendar_refuses():
    """The installed package requires holidays 0.85 or later of every installation, so pip
    never installs a release the calendar refuses (the test above: 0.84 is refused)."""
    from importlib.metadata import requires

    from packaging.requirements import Requirement

    [holidays_requirement] = [r for r in map(Requirement, requires("sstransfer") or [])
                              if r.name == "holidays"]
    assert holidays_requirement.marker is None  # not an extra: every installation has it
    allowed = holidays_requirement.specifier
    assert not allowed.contains("0.84") and allowed.contains("0.85") and allowed.contains("1.0")


# --- recomputing after a schedule changed -------------------------------------------------------

SCHEDULE_2027 = """\
year: 2027
source: test schedule (not the real 2027 notice)
holidays:
  - {name: 元旦, from: 2027-01-01, to: 2027-01-03}
  - {name: 春节, from: 2027-02-06, to: 2027-02-13}
  - {name: 清明节, from: 2027-04-05, to: 2027-04-05}
  - {name: 劳动节, from: 2027-05-01, to: 2027-05-05}
  - {name: 端午节, from: 2027-06-09, to: 2027-06-09}
  - {name: 中秋节, from: 2027-09-15, to: 2027-09-15}
  - {name: 国庆节, from: 2027-10-01, to: 2027-10-07}
# As the 2007 notice did for 2006-12-30/31: a Saturday of the year before is worked.
adjacent_year_make_up_workdays: [2026-12-26]
"""


def test_a_new_years_notice_that_changes_the_previous_december_is_recomputed(definitions_dir,
                                                                            db_url):
    """A form received 2026-12-21 is due 2026-12-28 (5 working days, nothing provisional). The
    2027 notice makes Saturday 2026-12-26 a working day: the span is recomputed to 2026-12-26
    and the change recorded; a span whose years did not change is left alone."""
    import sqlalchemy as sa

    from workflow.store import span_changes_t, spans_t

    FINGERPRINTS = sa.select(spans_t.c.id, spans_t.c.calendar_fingerprint).order_by(spans_t.c.id)
    with Engine(db_url, definitions=definitions_dir, settings=AHEAD) as engine:
        case = open_case(engine, "medical_transfer", on=D(2026, 12, 1))
        engine.fire(case.id, "review", actor=ORIGIN_CLERK, on=D(2026, 12, 1))
        engine.fire(case.id, "move_funds", actor=ORIGIN_CLERK, on=D(2026, 12, 21),
                    documents=["information_form"], amount=1)
        other = open_case(engine)  # 2025-09-26 to 2025-10-23: 2025 only
        span = running(engine, case.id)["destination_continuation"]
        assert (span.due_on, span.provisional) == (D(2026, 12, 28), False)
    (definitions_dir / "calendars").mkdir(exist_ok=True)
    (definitions_dir / "calendars" / "2027.yaml").write_text(SCHEDULE_2027, encoding="utf-8")
    with Engine(db_url, definitions=definitions_dir) as engine:
        changes = engine.recompute_due_dates()
        assert [(c["case_id"], c["span"], c["old_due_on"], c["new_due_on"], c["reason"])
                for c in changes] == [(case.id, "destination_continuation", D(2026, 12, 28),
                                       D(2026, 12, 26), "holiday schedule of 2026 changed")]
        assert running(engine, case.id)["destination_continuation"].due_on == D(2026, 12, 26)
        assert running(engine, other.id)["destination_review"].due_on == D(2025, 10, 23)
        with engine.db.connect() as conn:
            assert conn.scalar(sa.select(sa.func.count()).select_from(span_changes_t)) == 1
            prints = conn.execute(FINGERPRINTS).all()
        assert engine.recompute_due_dates() == []  # once
        with engine.db.connect() as conn:
            assert conn.execute(FINGERPRINTS).all() == prints


def test_spans_computed_before_fingerprints_are_checked_once_and_unchanged_ones_not_recorded(
        engine):
    """A span of 2025-09-26 stored without a fingerprint (an upgraded database) keeps 2025-10-23."""
    import sqlalchemy as sa

    from workflow.store import span_changes_t, spans_t

    case = open_case(engine)
    with engine.db.begin() as conn:
        conn.execute(sa.update(spans_t).values(calendar_fingerprint=None))
    assert engine.recompute_due_dates() == []
    assert running(engine, case.id)["destination_review"].due_on == D(2025, 10, 23)
    with engine.db.connect() as conn:
        assert conn.scalar(sa.select(spans_t.c.calendar_fingerprint)).startswith("2025:")
        assert conn.scalar(sa.select(sa.func.count()).select_from(span_changes_t)) == 0


def test_a_recomputed_span_keeps_the_committed_limit_it_was_opened_under(definitions_dir, db_url):
    """Committed 3 days from 2026-12-21 is 2026-12-24; after the 2027 notice it still counts 3."""
    with Engine(db_url, definitions=with_commitments(definitions_dir), settings=AHEAD) as engine:
        case = open_case(engine, "medical_transfer", on=D(2026, 12, 1))
        engine.fire(case.id, "review", actor=ORIGIN_CLERK, on=D(2026, 12, 1))
        engine.fire(case.id, "move_funds", actor=ORIGIN_CLERK, on=D(2026, 12, 21),
                    documents=["information_form"], amount=1)
    (definitions_dir / COMMITMENTS_FILE).unlink()
    (definitions_dir / "calendars").mkdir(exist_ok=True)
    (definitions_dir / "calendars" / "2027.yaml").write_text(SCHEDULE_2027, encoding="utf-8")
    with Engine(db_url, definitions=definitions_dir) as engine:
        [change] = engine.recompute_due_dates()
        span = running(engine, case.id)["destination_continuation"]
    assert (span.committed_limit_working_days, span.committed_due_on, span.due_on) == (
        3, D(2026, 12, 24), D(2026, 12, 26))
    assert change["new_committed_due_on"] == D(2026, 12, 24)


# --- regional public holidays ------------------------------------------------------------------

# Clearly fictitious: no real regional holiday falls on these days.
OVERLAY_2025_65 = """\
year: 2025
province: "65"
source: fictitious test data, not a regional notice
holidays:
  - {name: 虚构的地区假日 (fictitious), from: 2025-10-14, to: 2025-10-15}
"""


def with_overlay(folder: Path, text: str = OVERLAY_2025_65, name: str = "2025-65.yaml") -> Path:
    (folder / "calendars").mkdir(exist_ok=True)
    (folder / "calendars" / name).write_text(text, encoding="utf-8")
    return folder


def test_a_regional_holiday_lengthens_only_the_spans_of_agencies_in_that_province(definitions_dir,
                                                                                  db_url):
    """Received 2025-09-26: due 2025-10-23 in 440300, but 2025-10-27 in 650100, whose province
    (fictitiously) closes its agencies on 10-14 and 10-15."""
    with Engine(db_url, definitions=with_overlay(definitions_dir)) as engine:
        here = open_case(engine)
        there = open_case(engine, destination="650100")
        assert running(engine, here.id)["destination_review"].due_on == D(2025, 10, 23)
        assert running(engine, there.id)["destination_review"].due_on == D(2025, 10, 27)
        assert engine.calendar.is_working_day(D(2025, 10, 14))
        assert not engine.calendar.for_agency("650100").is_working_day(D(2025, 10, 14))
        result = engine.scan(D(2025, 10, 24))
        levels = {(a.owner_agency, a.level, a.working_days_late)
                  for a in engine.alerts(run_id=result.run_id)}
    assert levels == {("440300", "overdue", 1), ("650100", "due_soon", -1)}


def test_adding_a_regional_overlay_is_caught_by_recompute(definitions_dir, db_url):
    """The span of 650100 computed without the overlay (2025-10-23) becomes 2025-10-27."""
    with Engine(db_url, definitions=definitions_dir) as engine:
        there = open_case(engine, destination="650100")
        open_case(engine)
    with Engine(db_url, definitions=with_overlay(definitions_dir)) as engine:
        changes = engine.recompute_due_dates()
    assert [(c["case_id"], c["old_due_on"], c["new_due_on"], c["reason"]) for c in changes] == [
        (there.id, D(2025, 10, 23), D(2025, 10, 27), "holiday schedule of 2025 changed")]


@pytest.mark.parametrize("old, new, name, words", [
    ("to: 2025-10-15}", "to: 2026-10-15}", "2025-65.yaml", "runs outside 2025"),
    ('province: "65"', 'province: "54"', "2025-65.yaml", "gives year 2025 and province 54"),
    ("from: 2025-10-14", "from: 2025-10-32", "2025-65.yaml", "'2025-10-32' is not a real date"),
    ("source: fictitious", "sauce: fictitious", "2025-65.yaml", "sauce"),
])
def test_a_bad_regional_overlay_is_refused_with_file_and_line(definitions_dir, old, new, name,
                                                              words):
    """A regional holiday file whose dates run outside its year, whose province differs from its
    file name, with an impossible date or an unknown key is refused naming the file and a line."""
    with_overlay(definitions_dir, OVERLAY_2025_65.replace(old, new), name)
    with pytest.raises(DefinitionError, match=words) as info:
        WorkingCalendar(definitions_dir / "calendars")
    assert info.value.path.endswith(name) and info.value.line is not None
