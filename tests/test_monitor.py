"""The overdue scan: alerts at three levels, each raised exactly once, delivered reliably."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import shutil
import signal
import time

import pytest
import sqlalchemy as sa
import structlog
import time_machine
from conftest import APPLICANT, DEST_CLERK, ORIGIN_CLERK, PERSON_ID, open_case, snapshot
from structlog.testing import capture_logs

from workflow import Actor, Engine, InvalidInput, WorkingCalendar
from workflow.core.alerts import classify
from workflow.records import NewAlert
from workflow.settings import Settings
from workflow.store import alerts_t, leases_t, span_changes_t
from workflow.store.tables import events_t

D = dt.date
CAL = WorkingCalendar()
SETTINGS = Settings()


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


def raised(engine, result):
    return engine.alerts(run_id=result.run_id)


def open_due(engine, due: D, **kwargs):
    """A case whose destination review is due on ``due``."""
    return open_case(engine, on=CAL.subtract_working_days(due, 15), **kwargs)


@pytest.mark.parametrize("due, as_of, expected", [
    (D(2025, 10, 23), D(2025, 10, 17), []),                        # 4 working days left
    (D(2025, 10, 23), D(2025, 10, 20), [("due_soon", -3)]),        # 3 left
    (D(2025, 10, 23), D(2025, 10, 23), [("due_soon", 0)]),         # due today
    (D(2025, 10, 23), D(2025, 10, 24), [("overdue", 1)]),          # overdue the day after
    (D(2025, 10, 23), D(2025, 10, 30), [("overdue", 5), ("escalated", 5)]),
    (D(2025, 9, 30), D(2025, 10, 9), [("overdue", 1)]),            # the holiday is not late
])
def test_a_span_is_due_soon_overdue_or_escalated_by_working_days(due, as_of, expected):
    """A span is due soon from 3 working days before its due date to the day itself, overdue from
    the next working day, and also escalated 5 working days late; holiday days are not late."""
    assert classify(due, as_of, CAL, SETTINGS) == expected


def test_the_alert_thresholds_are_configurable():
    """Settings move both thresholds: due soon 1 working day ahead, escalated 2 working days late."""
    settings = Settings(due_soon_days=1, escalate_after_days=2)
    assert classify(D(2025, 10, 23), D(2025, 10, 21), CAL, settings) == []
    assert classify(D(2025, 10, 23), D(2025, 10, 27), CAL, settings) == [("overdue", 2),
                                                                         ("escalated", 2)]


def test_each_span_alerts_once_per_level_however_often_the_scan_runs(engine):
    """A span alerts once at each level it reaches: scanning the same or the next day again raises
    nothing new, and its alerts keep the due date, the days late and the owner of the first scan."""
    soon = open_due(engine, D(2025, 10, 23))
    late = open_due(engine, D(2025, 10, 14))
    first = engine.scan(D(2025, 10, 21))
    assert {(a.case_id, a.level) for a in raised(engine, first)} == {(soon.id, "due_soon"),
                                                            (late.id, "overdue"),
                                                            (late.id, "escalated")}
    assert engine.scan(D(2025, 10, 21)).raised == 0
    assert engine.scan(D(2025, 10, 22)).raised == 0
    later = engine.scan(D(2025, 10, 24))
    assert {(a.case_id, a.level) for a in raised(engine, later)} == {(soon.id, "overdue")}
    assert later.counts == {"overdue": 1}
    alerts = engine.alerts(case_id=late.id)
    assert [(a.level, a.due_on, a.working_days_late, a.owner, a.owner_agency, a.as_of)
            for a in alerts] == [
        ("overdue", D(2025, 10, 14), 5, "destination", "440300", D(2025, 10, 21)),
        ("escalated", D(2025, 10, 14), 5, "destination", "440300", D(2025, 10, 21))]


def test_closed_spans_never_alert(engine):
    """A span ended by a step (here a rejection) raises no alert, however late the scan."""
    case = open_due(engine, D(2025, 10, 14))
    engine.fire(case.id, "reject", actor=DEST_CLERK, on=D(2025, 10, 10), explanation="no")
    assert engine.scan(D(2025, 10, 24)).raised == 0


def test_the_person_owned_premium_span_alerts_like_the_others(engine):
    """The person's own three-month premium span (owner person) is overdue and escalated after its
    due date like the agencies' spans."""
    case = open_case(engine, "medical_transfer", applicant="self",
                     actor=Actor("p", "self", person_id=PERSON_ID))
    engine.fire(case.id, "review", actor=DEST_CLERK, on=D(2025, 10, 9))
    engine.fire(case.id, "move_funds", actor=ORIGIN_CLERK, on=D(2025, 10, 13),
                documents=["information_form"], amount="10.00")
    engine.scan(D(2026, 1, 20))
    premium = engine.alerts(case_id=case.id)
    assert {(a.subject, a.level, a.owner) for a in premium} >= {
        ("premium_payment", "overdue", "person"), ("premium_payment", "escalated", "person")}
    assert next(a for a in premium if a.subject == "premium_payment").due_on == D(2026, 1, 13)


def test_a_continued_pension_with_a_medical_transfer_still_open_gets_an_advisory(engine):
    """A pension continued while the same person's medical transfer is still open raises one
    different_place_registration advisory, once."""
    pension = open_case(engine)
    open_case(engine, "medical_transfer")
    engine.fire(pension.id, "review", actor=DEST_CLERK, on=D(2025, 10, 9))
    engine.fire(pension.id, "send_letter", actor=DEST_CLERK, on=D(2025, 10, 9))
    engine.fire(pension.id, "move_funds", actor=ORIGIN_CLERK, on=D(2025, 10, 10),
                documents=["information_form"], amount=1)
    engine.fire(pension.id, "continue_relationship", actor=DEST_CLERK, on=D(2025, 10, 13),
                contribution_months=1)
    result = engine.scan(D(2025, 10, 14))
    advisories = [a for a in raised(engine, result) if a.level == "advisory"]
    assert [(a.case_id, a.subject) for a in advisories] == [(pension.id, "different_place_registration")]
    assert engine.scan(D(2025, 10, 15)).count("advisory") == 0


def _continued_pension(engine, on: D, clock: dt.datetime):
    """A pension case (of a person with no medical case) continued on business date ``on``,
    the continuation recorded at ``clock``."""
    case = open_case(engine)
    engine.fire(case.id, "review", actor=DEST_CLERK, on=D(2025, 10, 9))
    engine.fire(case.id, "send_letter", actor=DEST_CLERK, on=D(2025, 10, 9))
    engine.fire(case.id, "move_funds", actor=ORIGIN_CLERK, on=D(2025, 10, 10),
                documents=["information_form"], amount=1)
    with time_machine.travel(clock, tick=False):
        return engine.fire(case.id, "continue_relationship", actor=DEST_CLERK, on=on,
                           contribution_months=1)


def _scan(engine, as_of: D, clock: dt.datetime):
    with time_machine.travel(clock, tick=False):
        return engine.scan(as_of)


def _advised(engine, result) -> list[int]:
    return [a.case_id for a in raised(engine, result) if a.level == "advisory"]


def test_an_advisory_dated_in_days_without_a_scan_is_raised_by_the_next_scan(engine):
    """A daily scan reads only the pension cases the last completed scan could not have seen
    (not a month of them every day), yet misses none: one continued on a day no scan ran for
    (dated after the last scan's as-of date, recorded hours before that scan started) is
    advised by the next scan, after a gap of days; an advisory raised before is not raised
    again, and the scan after reads no case at all for the advisory."""
    gap = _continued_pension(engine, D(2025, 10, 14), utc(2025, 10, 14, 2))
    assert _advised(engine, _scan(engine, D(2025, 10, 10), utc(2025, 10, 14, 12))) == []
    assert _advised(engine, _scan(engine, D(2025, 10, 17), utc(2025, 10, 17, 1))) == [gap.id]
    assert _advised(engine, _scan(engine, D(2025, 10, 20), utc(2025, 10, 20, 1))) == []
    last = engine.alert_service.last_scan()
    assert engine.alert_service.store.advisories(D(2025, 10, 21), last) == []


def test_an_advisory_of_a_step_dated_back_after_the_last_scan_is_raised_by_the_next_scan(
        engine):
    """A continuation recorded after the last scan but dated back before its as-of date (a
    clerk catching up) is advised by the next scan: the cases recorded since the last scan
    started are read too."""
    assert _scan(engine, D(2025, 10, 15), utc(2025, 10, 15, 1)).count("advisory") == 0
    back = _continued_pension(engine, D(2025, 10, 13), utc(2025, 10, 16, 2))
    assert _advised(engine, _scan(engine, D(2025, 10, 16), utc(2025, 10, 16, 3))) == [back.id]
    assert _advised(engine, _scan(engine, D(2025, 10, 17), utc(2025, 10, 17, 1))) == []


def test_alerts_are_written_in_batches_once_each_with_their_events(engine):
    """The scan writes its alerts as multi-row statements of up to 1,000 rows: 2,345 alerts in
    one call are all raised, in id order, each with one ``alert.raised`` event; written again
    with 655 new ones among them, only those 655 are raised (and given events)."""
    case = open_case(engine)
    stamp = dt.datetime(2025, 10, 14, 1, tzinfo=dt.UTC)

    def advisories(subjects) -> list[NewAlert]:
        return [NewAlert("advisory", case.id, None, f"s{n:05d}", "person", "440300", None,
                         None, False, D(2025, 10, 14), stamp, None) for n in subjects]

    store = engine.alert_service.store
    first = store.insert_alerts(advisories(range(2345)), None)
    assert [a.subject for a in first] == [f"s{n:05d}" for n in range(2345)]
    assert [a.id for a in first] == sorted(a.id for a in first)
    again = store.insert_alerts(advisories(range(2000, 3000)), None)
    assert [a.subject for a in again] == [f"s{n:05d}" for n in range(2345, 3000)]
    with engine.db.connect() as conn:
        events = conn.execute(sa.select(events_t.c.data).where(
            events_t.c.name == "alert.raised")).scalars().all()
    assert sorted(e["alert_id"] for e in events) == sorted(a.id for a in first + again)


def test_alerts_are_logged_without_the_id_number(engine):
    """The scan logs each alert with its level and never the person's ID number."""
    open_due(engine, D(2025, 10, 14))
    with capture_logs() as events:
        engine.scan(D(2025, 10, 21))
    alerts = [e for e in events if e["event"] == "alert"]
    assert [e["alert_level"] for e in alerts] == ["overdue", "escalated"]
    assert PERSON_ID not in repr(events)


def test_a_scan_logs_one_summary_event_and_each_alert_only_at_debug(engine):
    """One `scan_done` event (info) counts the alerts per level; the per-alert events are at
    debug, and their `alert_level` survives structlog's log-level processor (which writes
    `level`)."""
    open_due(engine, D(2025, 10, 14))
    open_due(engine, D(2025, 10, 23))
    with capture_logs() as events:
        engine.scan(D(2025, 10, 21))
    [done] = [e for e in events if e["event"] == "scan_done"]
    assert done["log_level"] == "info"
    assert {k: done[k] for k in ("due_soon", "overdue", "escalated", "advisory", "raised")} == {
        "due_soon": 1, "overdue": 1, "escalated": 1, "advisory": 0, "raised": 3}
    alerts = [e for e in events if e["event"] == "alert"]
    assert {e["log_level"] for e in alerts} == {"debug"} and len(alerts) == 3
    assert [e["log_level"] for e in events if e["log_level"] not in ("debug", "info")] == []
    processed = [structlog.processors.add_log_level(None, "debug", dict(e)) for e in alerts]
    assert sorted(e["alert_level"] for e in processed) == ["due_soon", "escalated", "overdue"]


# --- callbacks --------------------------------------------------------------------------

def test_a_callback_gets_each_new_alert(engine):
    """A callback registered with on_alert gets each new alert once; a repeated scan calls it for
    nothing."""
    got = []
    engine.on_alert(got.append)
    open_due(engine, D(2025, 10, 14))
    engine.scan(D(2025, 10, 21))
    engine.scan(D(2025, 10, 21))
    assert [a.level for a in got] == ["overdue", "escalated"]


def test_a_failing_callback_is_retried_on_the_next_scan_and_never_duplicates(engine):
    """An alert whose callback raised is logged as failed, offered again on the next scan, and
    then each alert is delivered exactly once."""
    calls, fail = [], {"first": True}

    def flaky(alert):
        calls.append(alert.id)
        if fail.pop("first", False):
            raise ConnectionError("mail server down")

    engine.on_alert(flaky, name="mailer")
    open_due(engine, D(2025, 10, 14))
    with capture_logs() as events:
        first = engine.scan(D(2025, 10, 21))
    assert first.failed_deliveries == 1 and first.delivered == 0
    assert any(e["event"] == "alert_callback_failed" for e in events)
    second = engine.scan(D(2025, 10, 22))
    ids = [a.id for a in engine.alerts()]
    assert second.delivered == 2
    assert calls == [ids[0], ids[0], ids[1]]  # the failed one again, then the next; once each
    engine.scan(D(2025, 10, 23))
    assert calls == [ids[0], ids[0], ids[1]]


def test_a_callback_registered_later_gets_only_later_alerts(engine):
    """A callback registered after some alerts were raised gets only the alerts raised after it."""
    open_due(engine, D(2025, 10, 14))
    engine.scan(D(2025, 10, 21))
    got = []
    engine.on_alert(got.append)
    open_due(engine, D(2025, 10, 23))
    engine.scan(D(2025, 10, 21))
    assert [a.level for a in got] == ["due_soon"]


# --- one scan at a time, and crashes ----------------------------------------------------

@pytest.mark.parametrize("as_of, words", [(D(9999, 12, 31), "outside the calendar"),
                                          (D(1999, 12, 31), "outside the calendar"),
                                          (D(2099, 12, 30), "is past 2099-12-31")])
def test_a_scan_refused_for_a_date_off_the_calendar_takes_no_lease_and_writes_no_run(engine,
                                                                                   as_of, words):
    """The date (and the due-soon horizon after it) is checked before the lease or a run row."""
    open_due(engine, D(2025, 10, 14))
    before = snapshot(engine)
    with pytest.raises(InvalidInput, match=words):
        engine.scan(as_of)
    assert snapshot(engine) == before


def test_a_scan_is_skipped_while_another_instance_holds_the_lease(engine, db_url):
    """While another instance holds the scan lease a scan is skipped, says so and logs only
    scan_skipped; once the lease is released the scan runs."""
    open_due(engine, D(2025, 10, 14))
    with Engine(db_url) as other:
        assert other.scheduling.acquire("scan")
        with capture_logs() as events:
            result = engine.scan(D(2025, 10, 21))
        assert not result.ran and "lease" in result.reason
        assert [e["event"] for e in events] == ["scan_skipped"]
        other.scheduling.release("scan")
    assert engine.scan(D(2025, 10, 21)).ran


def test_a_crashed_holders_lease_expires(engine, db_url):
    """A lease whose holder crashed runs out at its expiry: the next scan takes it and runs."""
    with Engine(db_url) as crashed:
        assert crashed.scheduling.acquire("scan")
    with engine.db.begin() as conn:  # as if its lease_seconds had passed
        conn.execute(sa.update(leases_t).values(
            expires_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC)))
    assert engine.scan(D(2025, 10, 21)).ran


def test_a_crash_in_the_middle_of_a_scan_neither_loses_nor_duplicates_alerts(engine, monkeypatch):
    """A scan killed after storing its alerts and before delivering them is marked failed; the
    next scan raises none again and delivers each stored alert once."""
    got = []
    engine.on_alert(got.append)
    open_due(engine, D(2025, 10, 14))

    def crash(lease):
        raise SystemError("killed")

    monkeypatch.setattr(engine.alert_service, "deliver", crash)
    with pytest.raises(SystemError):
        engine.scan(D(2025, 10, 21))
    assert [r.status for r in engine.scheduling.runs("scan")] == ["failed"]
    monkeypatch.undo()
    again = engine.scan(D(2025, 10, 21))
    assert again.raised == 0  # already stored by the crashed run
    assert [a.level for a in got] == ["overdue", "escalated"]
    assert len(engine.alerts()) == 2


def _scan_in_process(url, barrier, results, run_id):
    with Engine(url) as engine:
        barrier.wait()
        results.put(sum(engine.alert_service.raise_alerts(D(2025, 10, 21), None, run_id).values()))


def test_two_scans_racing_in_separate_processes_raise_no_duplicates(engine, db_url):
    """Even bypassing the lease, the database refuses a second copy of an alert."""
    for due in (D(2025, 10, 14), D(2025, 10, 20), D(2025, 10, 22)):
        open_due(engine, due)
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(3), ctx.Queue()
    procs = [ctx.Process(target=_scan_in_process, args=(db_url, barrier, results, n))
             for n in range(1, 4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    counts = sorted(results.get(timeout=5) for _ in procs)
    with engine.db.connect() as conn:
        stored = conn.scalar(sa.select(sa.func.count()).select_from(alerts_t))
    assert stored == 4  # overdue+escalated, overdue, due_soon
    assert sum(counts) == stored


# --- provisional due dates --------------------------------------------------------------

def test_provisional_due_dates_are_recomputed_when_the_schedule_is_added(definitions_dir, db_url):
    # Opened a month ahead of today (2026-11): allowed here by max_days_ahead.
    """A due date in a year not yet published is provisional; once that year's schedule is added,
    recompute_due_dates moves it to the official date, records the change once, and a second
    recompute changes nothing."""
    with Engine(db_url, definitions=definitions_dir,
                settings=Settings(max_days_ahead=366)) as engine:
        case = open_case(engine, on=D(2026, 12, 24))
        [span] = engine.spans(case.id)
        assert span.provisional and span.due_on == D(2027, 1, 15)  # estimated: Jan 1 off
    calendars = definitions_dir / "calendars"
    calendars.mkdir(exist_ok=True)
    (calendars / "2027.yaml").write_text(
        "year: 2027\nsource: test schedule (not the real notice)\n"
        "holidays:\n  - {name: 元旦, from: 2027-01-01, to: 2027-01-06}\n"
        + "".join(f"  - {{name: {h}, from: 2027-0{m}-03, to: 2027-0{m}-03}}\n"
                  for m, h in enumerate(["春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节"], 2)),
        encoding="utf-8")
    with Engine(db_url, definitions=definitions_dir) as engine:
        changes = engine.recompute_due_dates()
        [span] = engine.spans(case.id)
        assert (span.due_on, span.provisional) == (D(2027, 1, 20), False)
        assert [(c["old_due_on"], c["new_due_on"]) for c in changes] == [
            (D(2027, 1, 15), D(2027, 1, 20))]
        with engine.db.connect() as conn:
            assert conn.scalar(sa.select(sa.func.count()).select_from(span_changes_t)) == 1
        assert engine.recompute_due_dates() == []
    shutil.rmtree(calendars)


def test_the_alerts_can_be_filtered(engine):
    """Alerts are listed by level, by owner agency and up to a limit."""
    open_due(engine, D(2025, 10, 14))
    open_due(engine, D(2025, 10, 23), origin="110000", destination="310000",
             actor=APPLICANT)
    engine.scan(D(2025, 10, 21))
    assert [a.level for a in engine.alerts(level="escalated")] == ["escalated"]
    assert [a.owner_agency for a in engine.alerts(agency="310000")] == ["310000"]
    assert len(engine.alerts(limit=1)) == 1


def _hold_the_scan_lease(url, ready):
    with Engine(url, settings=Settings(lease_seconds=2)) as engine:
        engine.scheduling.acquire("scan")
        ready.set()
        time.sleep(600)  # killed long before


def test_killing_the_instance_that_scans_lets_another_take_over_on_its_next_run(engine, db_url):
    """When the instance holding the scan lease is killed, another instance's scan is skipped
    until the lease runs out; then it runs and raises the alerts."""
    open_due(engine, D(2025, 10, 14))
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    holder = ctx.Process(target=_hold_the_scan_lease, args=(db_url, ready))
    holder.start()
    assert ready.wait(60)
    os.kill(holder.pid, signal.SIGKILL)
    holder.join(10)
    assert not engine.scan(D(2025, 10, 21)).ran  # its lease has not run out yet
    time.sleep(2.5)
    result = engine.scan(D(2025, 10, 21))
    assert result.ran and result.counts == {"overdue": 1, "escalated": 1}


# --- leases that fence: renewed while a scan runs, taken over only from a silent holder ---

AS_OF = D(2025, 10, 21)


def _slow_mailer(path, pause):
    """A callback that writes 'pid alert-id' to ``path`` and then takes ``pause`` seconds."""
    def send(alert):
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()} {alert.id}\n")
        time.sleep(pause)
    return send


def _deliveries(path):
    return [tuple(map(int, line.split())) for line in path.read_text().splitlines()]


def _keep_scanning(url, path, barrier, results):
    """An instance that tries the day's scan until some instance has done it."""
    with Engine(url, settings=Settings(lease_seconds=2)) as engine:
        engine.on_alert(_slow_mailer(path, 0.4), name="mailer")
        barrier.wait()
        ran, deadline = 0, time.monotonic() + 60
        while engine.scheduling.last_done("scan") != AS_OF and time.monotonic() < deadline:
            ran += engine.alert_service.scan(AS_OF, once=True).ran
            time.sleep(0.05)
        results.put(ran)


def test_a_scan_longer_than_its_lease_keeps_it_and_each_alert_is_delivered_once(
        engine, db_url, tmp_path):
    """Three instances race for a scan that takes 1.6 times the 2-s lease: the holder renews it,
    the others keep skipping, and each of the 8 alerts reaches the callback exactly once."""
    for _ in range(4):
        open_due(engine, D(2025, 10, 14))  # overdue and escalated: 8 alerts
    engine.on_alert(lambda alert: None, name="mailer")  # subscribed before any alert
    path = tmp_path / "sent.txt"
    path.touch()
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(3), ctx.Queue()
    procs = [ctx.Process(target=_keep_scanning, args=(db_url, path, barrier, results))
             for _ in range(3)]
    for p in procs:
        p.start()
    ran = sorted(results.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(30)
    sent = _deliveries(path)
    assert ran == [0, 0, 1]
    assert sorted(alert for _, alert in sent) == [a.id for a in engine.alerts()]
    assert len(engine.alerts()) == 8
    assert [r.status for r in engine.scheduling.runs("scan")] == ["done"]


def _scan_and_report(url, path, in_callback, results):
    with Engine(url, settings=Settings(lease_seconds=1)) as engine:
        first = {"yet": True}
        mailer = _slow_mailer(path, 0.0)

        def send(alert):
            mailer(alert)
            if first.pop("yet", False):
                in_callback.set()
                time.sleep(1)  # stopped (SIGSTOP) in here by the test
        engine.on_alert(send, name="mailer")
        result = engine.alert_service.scan(AS_OF)
        results.put((result.ran, result.reason))


@pytest.mark.parametrize("stop", ["frozen", "killed"])
def test_a_holder_that_lost_its_lease_stops_and_only_its_alert_in_flight_is_sent_again(
        engine, db_url, tmp_path, stop):
    """The scanning instance is frozen (SIGSTOP) or killed (SIGKILL) in a callback past its
    lease; another instance takes over, marks its run abandoned and delivers every alert,
    the one the first was in again (the documented at-least-once window). A frozen holder,
    when it wakes, is fenced at its next write and stops: it sends nothing more."""
    for _ in range(4):
        open_due(engine, D(2025, 10, 14))
    engine.on_alert(lambda alert: None, name="mailer")
    path = tmp_path / "sent.txt"
    path.touch()
    ctx = multiprocessing.get_context("spawn")
    in_callback, results = ctx.Event(), ctx.Queue()
    first = ctx.Process(target=_scan_and_report, args=(db_url, path, in_callback, results))
    first.start()
    try:
        assert in_callback.wait(60)
        os.kill(first.pid, signal.SIGSTOP if stop == "frozen" else signal.SIGKILL)
        time.sleep(2)  # its lease (1 s) runs out: nobody renews it
        got = []
        with Engine(db_url, settings=Settings(lease_seconds=1)) as other:
            other.on_alert(got.append, name="mailer")
            assert other.scan(AS_OF).ran
    finally:
        if stop == "frozen":
            os.kill(first.pid, signal.SIGCONT)
    if stop == "frozen":
        ran, reason = results.get(timeout=60)
        assert not ran and "taken over" in reason
    first.join(30)
    alerts = [a.id for a in engine.alerts()]
    first_sent = [alert for pid, alert in _deliveries(path) if pid == first.pid]
    assert first_sent == alerts[:1]  # only the one it was in
    assert [a.id for a in got] == alerts  # the new holder sent all, that one again
    assert [r.status for r in engine.scheduling.runs("scan")] == ["abandoned", "done"]
