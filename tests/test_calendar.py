"""The Chinese statutory working-day calendar, right to the day."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflow import DefinitionError, InvalidInput, WorkingCalendar
from workflow.core.calendar import LibraryDays, library_days
from workflow.loading import cached_library_days

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


# --- the holidays package's days, kept in the cache folder ------------------------------------

def _start(cache: Path) -> list[str]:
    """A fresh process holding a WorkingCalendar with ``cache`` as its cache folder: whether it
    imported the holidays package, and the fingerprint of every year's working days."""
    code = ("import sys\n"
            "from workflow import WorkingCalendar\n"
            "import datetime as dt\n"
            "cal = WorkingCalendar()\n"
            "print('holidays' in sys.modules)\n"
            "print(cal.fingerprint(dt.date(2000, 1, 1), dt.date(2099, 12, 31)))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "SSTRANSFER_CACHE_DIR": str(cache)})
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_a_second_start_takes_the_holidays_packages_days_from_the_cache_without_importing_it(
        tmp_path):
    """The first calendar of a machine computes China's holidays and make-up days with the
    `holidays` package and keeps them under the package's version; a later process takes them
    from there without importing the package (which imports every country it knows, issue
    22's memory), and its working days are the same to the day in every year."""
    first = _start(tmp_path)
    assert first[0] == "True"
    assert [p.name for p in tmp_path.iterdir()] == [
        f"holidays-china-{holidays.__version__}.json"]
    second = _start(tmp_path)
    assert second == ["False", first[1]]
    assert first[1] == CAL.fingerprint(D(2000, 1, 1), D(2099, 12, 31))


def test_a_damaged_or_foreign_cache_file_is_computed_again_and_rewritten(tmp_path, monkeypatch):
    """A cache file that is not whole JSON, or was kept for another holidays release, is never
    believed: the days are computed by the package again and the file rewritten."""
    monkeypatch.setenv("SSTRANSFER_CACHE_DIR", str(tmp_path))
    path = tmp_path / f"holidays-china-{holidays.__version__}.json"
    other = dataclasses.replace(library_days(), version="0.1", holidays=frozenset())
    for text in ('{"holidays_version": "0.1', other.to_json()):
        path.write_text(text, encoding="utf-8")
        assert cached_library_days.__wrapped__() == library_days()
        assert LibraryDays.from_json(path.read_text(encoding="utf-8"),
                                     holidays.__version__) == library_days()
    with pytest.raises(ValueError, match="another holidays release"):
        LibraryDays.from_json(other.to_json(), holidays.__version__)


def test_a_cache_folder_that_cannot_be_written_only_means_no_cache(tmp_path, monkeypatch):
    """A cache folder that cannot be made (here a file stands in its way) costs the start its
    second, nothing else: the calendar is the package's."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("SSTRANSFER_CACHE_DIR", str(blocker / "sstransfer"))
    assert cached_library_days.__wrapped__() == library_days()
    assert list(tmp_path.iterdir()) == [blocker]
