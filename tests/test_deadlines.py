"""Deadlines as the law and the agencies count them: committed limits (承诺时限) next to the
statutory ones, the receipt policy, month-end rest days, and recomputation."""

from __future__ import annotations

import datetime as dt
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import ORIGIN_CLERK, open_case, snapshot

from workflow import DefinitionError, DefinitionSet, Engine, WorkingCalendar
from workflow.definitions import COMMITMENTS_FILE

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

    from workflow.reports import write_report

    with Engine(db_url, definitions=with_commitments(definitions_dir)) as engine:
        to_funds_moved(engine)
        early, late = engine.overdue_report(D(2025, 10, 23)), engine.overdue_report(D(2025, 10, 27))
        assert (early.agencies["440300"].overdue, early.agencies["440300"].statutory_breaches) == (1, 0)
        assert (late.agencies["440300"].overdue, late.agencies["440300"].statutory_breaches) == (1, 1)
        [line] = [x for x in late.lines() if x.span == "destination_continuation"]
        assert (line.committed_due_on, line.due_on, line.working_days_late, line.statutory_breach) \
            == (D(2025, 10, 22), D(2025, 10, 24), 3, True)
        with write_report(late, "csv", tmp_path / "r.csv").open(encoding="utf-8-sig") as f:
            [row] = [r for r in csv.DictReader(f) if r["span"] == "destination_continuation"]
        assert (row["committed due"], row["statutory due"], row["past statutory due"]) == (
            "2025-10-22", "2025-10-24", "yes")
        html = write_report(late, "html", tmp_path / "r.html").read_text(encoding="utf-8")
        assert "past statutory due" in html and "2025-10-22" in html and "2025-10-24" in html
        before = snapshot(engine)  # a report writes nothing
        engine.overdue_report(D(2025, 10, 27))
        assert snapshot(engine) == before
