"""The Chinese statutory working-day calendar, right to the day."""

from __future__ import annotations

import datetime as dt
import textwrap

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflow import DefinitionError, InvalidInput, WorkingCalendar

D = dt.date
CAL = WorkingCalendar()


def test_a_letter_received_on_2025_09_26_is_due_on_2025_10_23():
    """DOMAIN.md's worked example: make-up Sunday 09-28, National Day off, make-up Saturday 10-11."""
    assert CAL.add_working_days(D(2025, 9, 26), 15) == D(2025, 10, 23)
    assert CAL.due(D(2025, 9, 26), 15).provisional is False


@pytest.mark.parametrize("received, n, due", [
    # Spring Festival 2025: Jan 28 to Feb 4 off, Sunday Jan 26 and Saturday Feb 8 worked.
    (D(2025, 1, 24), 1, D(2025, 1, 26)),
    (D(2025, 1, 26), 2, D(2025, 2, 5)),
    (D(2025, 2, 7), 1, D(2025, 2, 8)),
    (D(2025, 1, 27), 15, D(2025, 2, 24)),
    # Labour Day 2025: May 1 to 5 off, Sunday Apr 27 worked.
    (D(2025, 4, 25), 1, D(2025, 4, 27)),
    (D(2025, 4, 30), 1, D(2025, 5, 6)),
    # A receipt on a holiday counts from the next working day.
    (D(2025, 10, 1), 1, D(2025, 10, 9)),
    # New Year 2026: Jan 1 to 3 off, Sunday Jan 4 worked.
    (D(2025, 12, 31), 1, D(2026, 1, 4)),
    # Spring Festival 2026: Feb 15 to 23 off, Saturdays Feb 14 and Feb 28 worked.
    (D(2026, 2, 13), 1, D(2026, 2, 14)),
    (D(2026, 2, 13), 2, D(2026, 2, 24)),
    (D(2026, 2, 24), 4, D(2026, 2, 28)),
    # National Day 2026: Oct 1 to 7 off, Sunday Sep 20 and Saturday Oct 10 worked.
    (D(2026, 9, 18), 1, D(2026, 9, 20)),
    (D(2026, 9, 30), 1, D(2026, 10, 8)),
    (D(2026, 9, 30), 3, D(2026, 10, 10)),
])
def test_due_dates_around_spring_festival_and_national_day(received, n, due):
    """N working days after a receipt skip the Spring Festival and National Day holidays and count
    their make-up working days."""
    assert CAL.add_working_days(received, n) == due
    assert CAL.working_days_between(received, due) == n


@pytest.mark.parametrize("day, working", [
    (D(2025, 10, 11), True),   # make-up Saturday
    (D(2025, 9, 28), True),    # make-up Sunday
    (D(2025, 10, 8), False),   # National Day holiday on a Wednesday
    (D(2026, 1, 4), True),     # make-up Sunday
    (D(2026, 1, 2), False),    # New Year holiday on a Friday
    (D(2025, 5, 5), False),    # Labour Day holiday on a Monday
    (D(2025, 11, 22), False),  # an ordinary Saturday
    (D(2025, 11, 24), True),   # an ordinary Monday
])
def test_working_days_follow_holidays_and_make_up_days(day, working):
    """A make-up Saturday or Sunday is a working day; a statutory holiday on a weekday and an
    ordinary Saturday are not."""
    assert CAL.is_working_day(day) is working


def test_a_deadline_in_a_year_not_yet_published_is_provisional():
    """The installed `holidays` release publishes up to 2026; 2027 is estimated."""
    assert CAL.is_official(2026)
    due = CAL.due(D(2026, 12, 31), 15)
    assert due.on.year == 2027 and due.provisional
    assert CAL.due(D(2026, 12, 1), 15).provisional is False


def test_dates_outside_the_calendar_are_refused():
    """The calendar covers 2000 to 2099: a date before it, or a count that would run past its end,
    is refused as invalid input."""
    with pytest.raises(InvalidInput):
        CAL.is_working_day(D(1999, 12, 31))
    with pytest.raises(InvalidInput):
        CAL.add_working_days(D(2099, 12, 30), 15)


dates = st.dates(min_value=D(2001, 1, 1), max_value=D(2090, 12, 31))
counts = st.integers(min_value=1, max_value=400)


@given(dates, counts, counts)
def test_adding_n_then_m_working_days_equals_adding_n_plus_m(day, n, m):
    """Adding n working days and then m is the same as adding n + m at once, on any date."""
    assert CAL.add_working_days(CAL.add_working_days(day, n), m) == CAL.add_working_days(day, n + m)


@given(dates, counts)
def test_adding_working_days_always_lands_on_a_working_day(day, n):
    """A due date counted in working days is always a working day itself."""
    assert CAL.is_working_day(CAL.add_working_days(day, n))


@given(dates, counts)
def test_counting_back_gives_n(day, n):
    """Counting n working days back from a due date lands on the receipt day, or on the rest days
    just before it."""
    due = CAL.add_working_days(day, n)
    assert CAL.working_days_between(day, due) == n
    assert due > day
    back = CAL.subtract_working_days(due, n)
    assert back <= day and CAL.working_days_between(back, day) == 0


@settings(max_examples=300)
@given(st.dates(min_value=D(2001, 1, 1), max_value=D(2026, 12, 31)))
def test_working_days_agree_with_the_holidays_package_in_published_years(day):
    """In every year the holidays package has from the State Council's notices (2001 to 2026),
    a day is a working day exactly when the package says so."""
    assert CAL.is_working_day(day) == holidays.China(years=day.year).is_working_day(day)


# --- next year's schedule from a file ----------------------------------------------------

SCHEDULE_2027 = """\
    year: 2027
    source: test schedule (not the real 2027 notice)
    holidays:
      - {name: 元旦, from: 2027-01-01, to: 2027-01-03}
      - {name: 春节 (test dates), from: 2027-03-01, to: 2027-03-05}
      - {name: 清明节, from: 2027-04-05, to: 2027-04-05}
      - {name: 劳动节, from: 2027-05-01, to: 2027-05-05}
      - {name: 端午节, from: 2027-06-09, to: 2027-06-09}
      - {name: 中秋节、国庆节, from: 2027-10-01, to: 2027-10-07}
    make_up_workdays: [2027-03-06]
"""


def write(folder, name, text):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return folder


def test_a_schedule_file_makes_its_year_official_and_overrides_the_library(tmp_path):
    """A calendars/2027.yaml schedule makes 2027 official (due dates into it are no longer
    provisional); its holidays and make-up days replace the library's estimate for that year."""
    cal = WorkingCalendar(write(tmp_path / "calendars", "2027.yaml", SCHEDULE_2027))
    assert cal.is_official(2027)
    assert not CAL.is_official(2027)
    assert not cal.is_working_day(D(2027, 3, 3))        # a listed holiday
    assert cal.is_working_day(D(2027, 3, 6))            # a listed make-up Saturday
    assert cal.add_working_days(D(2027, 2, 26), 1) == D(2027, 3, 6)
    assert cal.due(D(2026, 12, 31), 15).provisional is False
    # The library's estimate for 2027 (Spring Festival in February) is replaced.
    assert holidays.China(years=2027).get(D(2027, 2, 8)) is not None
    assert cal.is_working_day(D(2027, 2, 8))


@pytest.mark.parametrize("text, line, words", [
    (SCHEDULE_2027.replace("[2027-03-06]", "[2027-03-08]"), 10, "is a weekday"),
    (SCHEDULE_2027.replace("source:", "sauce:"), 2, "sauce"),
    (SCHEDULE_2027.replace("to: 2027-03-05", "to: 2027-02-05"), 5, "before"),
    (SCHEDULE_2027.replace("year: 2027", "year: [2027"), 1, "not valid YAML"),
])
def test_a_bad_schedule_file_is_refused_with_its_line(tmp_path, text, line, words):
    """A schedule file with a make-up day on a weekday, an unknown key, a range ending before it
    starts or broken YAML is refused naming the file and (within a line) the line at fault."""
    folder = write(tmp_path / "calendars", "2027.yaml", text)
    with pytest.raises(DefinitionError) as info:
        WorkingCalendar(folder)
    assert info.value.path.endswith("2027.yaml")
    assert words in str(info.value)
    assert abs(info.value.line - line) <= 1
