"""The scheduler: daily scans on working days, weekly reports, missed runs made up once."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from conftest import open_case

from workflow import Engine, SettingsError, WorkingCalendar
from workflow.core.alerts import last_occurrence
from workflow.settings import Settings

CHINA = ZoneInfo("Asia/Shanghai")
CAL = WorkingCalendar()
D = dt.date


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=CHINA)


@pytest.fixture
def engine(db_url, schema_copy, tmp_path):
    """An engine writing its weekly reports into the test's folder."""
    with Engine(schema_copy(db_url), settings=Settings(report_dir=tmp_path / "reports")) as e:
        yield e


def done(engine, job):
    return [r.as_of for r in engine.scheduling.runs(job) if r.status == "done"]


@pytest.mark.parametrize("now, expected", [
    (at(2025, 10, 9, 9, 0), D(2025, 10, 9)),    # after 08:30 on a working day: today
    (at(2025, 10, 9, 8, 0), D(2025, 9, 30)),    # before 08:30: the last working day, across National Day
    (at(2025, 10, 11, 9, 0), D(2025, 10, 11)),  # a make-up Saturday is a working day
    (at(2025, 10, 12, 9, 0), D(2025, 10, 11)),  # Sunday: back to Saturday
])
def test_the_last_scheduled_scan_skips_weekends_and_holidays(now, expected):
    """The daily scan's last due run is today once 08:30 has passed on a working day (a make-up
    Saturday included), else the last working day before, across weekends and National Day."""
    assert last_occurrence(now, dt.time(8, 30), None, CAL) == expected


def test_the_last_weekly_report_is_the_last_monday_at_seven():
    """The weekly report's last due run is the last Monday at 07:00: this week's once it has passed,
    else the week before."""
    assert last_occurrence(at(2025, 10, 9, 9), dt.time(7), [0], None) == D(2025, 10, 6)
    assert last_occurrence(at(2025, 10, 6, 6, 59), dt.time(7), [0], None) == D(2025, 9, 29)


def test_the_daily_scan_skips_a_non_working_day_and_runs_once_a_working_day(engine):
    """The daily scan does not run on a holiday and runs once on a working day, however many
    instances try it."""
    jobs = engine.jobs()
    assert not jobs.scan(at(2025, 10, 3, 8, 30))   # National Day holiday
    assert jobs.scan(at(2025, 10, 9, 8, 30))
    assert not jobs.scan(at(2025, 10, 9, 8, 30))   # a second instance on the same day
    assert done(engine, "scan") == [D(2025, 10, 9)]


def test_a_run_missed_across_a_weekend_and_a_holiday_is_made_up_exactly_once(engine, db_url):
    """Every instance was down from Tuesday 2025-09-30 to Thursday 2025-10-09."""
    open_case(engine, on=D(2025, 9, 1))
    jobs = engine.jobs()
    assert jobs.scan(at(2025, 9, 30, 8, 30))
    assert jobs.report(at(2025, 9, 29, 7, 0))
    made_up = jobs.catch_up(at(2025, 10, 9, 9, 0))
    assert made_up == ["scan 2025-10-09", "report 2025-10-06"]
    with Engine(db_url, settings=engine.settings) as other:  # another instance comes back too
        assert other.jobs().catch_up(at(2025, 10, 9, 9, 5)) == []
    assert jobs.catch_up(at(2025, 10, 9, 10, 0)) == []
    assert done(engine, "scan") == [D(2025, 9, 30), D(2025, 10, 9)]
    assert done(engine, "report") == [D(2025, 9, 29), D(2025, 10, 6)]


def test_the_weekly_report_writes_one_file_per_format_named_by_date(engine, tmp_path):
    """The weekly report writes overdue-DATE.csv, .html and .xlsx once for its Monday; a second
    try that morning writes nothing."""
    open_case(engine, on=D(2025, 9, 1))
    assert engine.jobs().report(at(2025, 10, 6, 7, 0))
    names = sorted(p.name for p in (tmp_path / "reports").iterdir())
    assert names == ["overdue-2025-10-06.csv", "overdue-2025-10-06.html", "overdue-2025-10-06.xlsx"]
    assert not engine.jobs().report(at(2025, 10, 6, 7, 1))


def test_the_embedded_scheduler_fires_the_scan_at_half_past_eight_china_time(engine):
    """With the clock at 08:29:58 on 2025-10-09, the scheduler catches up, then scans at 08:30."""
    open_case(engine, on=D(2025, 9, 1))
    with time_machine.travel(at(2025, 10, 9, 8, 29, 58), tick=True):
        engine.start_scheduler()
        deadline = time.monotonic() + 20
        while D(2025, 10, 9) not in done(engine, "scan") and time.monotonic() < deadline:
            time.sleep(0.2)
        engine.shutdown()
    assert done(engine, "scan") == [D(2025, 9, 30), D(2025, 10, 9)]  # catch-up, then 08:30
    assert done(engine, "report") == [D(2025, 10, 6)]


def test_settings_come_from_a_toml_file_with_clear_errors(tmp_path):
    """The scheduler's settings come from the TOML file with keyword arguments over it, and a bad
    value is refused naming its key."""
    path = tmp_path / "sstransfer.toml"
    path.write_text('[monitor]\nscan_at = "09:15"\ndue_soon_days = 2\n', encoding="utf-8")
    s = Settings.load(path, report_day="fri")
    assert (s.scan_at, s.due_soon_days, s.report_day) == (dt.time(9, 15), 2, "fri")
    path.write_text('[monitor]\nscan_at = "late"\n', encoding="utf-8")
    with pytest.raises(SettingsError, match="scan_at"):
        Settings.load(path)


def _scheduler_stuck_in_a_callback(url, report_dir, in_callback):
    """An instance whose scheduler catches up the day's scan and hangs in its callback."""
    with Engine(url, settings=Settings(lease_seconds=2, report_dir=report_dir)) as engine:
        def hang(alert):
            in_callback.set()
            time.sleep(600)  # killed long before
        engine.on_alert(hang, name="mailer")
        engine.start_scheduler()
        time.sleep(600)


def test_a_live_scheduler_takes_over_a_killed_instances_scan_within_a_lease(
        engine, db_url, tmp_path):
    """Instance A is scanning (held in a callback) when `scheduler run` B starts: B skips the
    scan, then A is SIGKILLed; B retries when A's 2-s lease runs out, marks A's run abandoned
    and does the scan itself, without waiting for the next day."""
    open_case(engine, on=D(2025, 9, 1))  # long overdue: alerts for A to be busy with
    ctx = multiprocessing.get_context("spawn")
    in_callback = ctx.Event()
    a = ctx.Process(target=_scheduler_stuck_in_a_callback,
                    args=(db_url, tmp_path / "a", in_callback))
    a.start()
    b = None
    try:
        assert in_callback.wait(60)
        settings = tmp_path / "b.toml"
        settings.write_text(f'[monitor]\nlease_seconds = 2\nreport_dir = "{tmp_path / "b"}"\n',
                            encoding="utf-8")
        log = (tmp_path / "b.log").open("w")
        b = subprocess.Popen([sys.executable, "-m", "workflow.cli", "--db", db_url,
                              "scheduler", "run", "--settings", str(settings)],
                             stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while "scan_retry_scheduled" not in (tmp_path / "b.log").read_text() \
                and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [r.status for r in engine.scheduling.runs("scan")] == ["running"]  # A's
        os.kill(a.pid, signal.SIGKILL)
        killed = time.monotonic()
        while not done(engine, "scan") and time.monotonic() < killed + 30:
            time.sleep(0.1)
        took = time.monotonic() - killed
    finally:
        if a.is_alive():
            os.kill(a.pid, signal.SIGKILL)
        a.join(10)
        if b is not None:
            b.terminate()
            b.wait(30)
    runs = engine.scheduling.runs("scan")
    assert [r.status for r in runs] == ["abandoned", "done"], (tmp_path / "b.log").read_text()
    assert runs[0].as_of == runs[1].as_of and runs[0].holder != runs[1].holder
    assert took < 2 + 4  # one lease, plus the retry's half second and a loaded machine's slack
