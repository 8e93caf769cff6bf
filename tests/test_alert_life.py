"""Alerts have a life (issue 21): "an alert is resolved when its span ends (with the date), the
alerts page shows one row per span with its highest level, and the inbox and the alerts page
agree on the days left or late; the dashboard says when the last scan ran and as of which
date; alerts already raised for a span whose due date moved are resolved or re-raised, never
left stale." Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.conftest import APPLICANT, DEST_CLERK, DESTINATION, open_case, refused
from tests.live import running
from tests.web import Browser
from workflow import Actor, ConcurrentUpdate
from workflow.api import create_app

D = dt.date
SUPERVISOR = Actor("s-1", "supervisor", DESTINATION)
#: Received 2025-09-26: the destination's review is due 2025-10-23.
DUE = D(2025, 10, 23)
#: Six working days past DUE: overdue and escalated.
LATE = D(2025, 10, 31)


def _open(engine, **kw):
    return {(a.level, a.due_on, a.resolved_on) for a in engine.alerts(resolved=False, **kw)}


def test_an_alert_is_resolved_on_the_day_its_span_ends(engine):
    """"An alert is resolved when its span ends (with the date)": the step that ends the span
    (the contact letter sent; a rejection ends them all) resolves its open alerts on the step's
    business date, with ``resolution`` span_ended; another case's alerts stay open."""
    sent, rejected, waiting = (open_case(engine) for _ in range(3))
    engine.scan(LATE)
    engine.fire(sent.id, "review", actor=DEST_CLERK, on=D(2025, 11, 3))
    engine.fire(sent.id, "send_letter", actor=DEST_CLERK, on=D(2025, 11, 4))
    engine.fire(rejected.id, "reject", actor=DEST_CLERK, on=D(2025, 11, 5), explanation="no")
    for case, day in ((sent, D(2025, 11, 4)), (rejected, D(2025, 11, 5))):
        alerts = engine.alerts(case_id=case.id)
        assert [(a.level, a.resolved_on, a.resolution) for a in alerts] == [
            ("overdue", day, "span_ended"), ("escalated", day, "span_ended")]
    assert _open(engine, case_id=waiting.id) == {("overdue", DUE, None),
                                                 ("escalated", DUE, None)}


def test_a_refused_step_leaves_the_alerts_of_its_span_open(engine):
    """The alerts are resolved in the step's own transaction: a step refused (here a stale
    version) writes nothing, and the span's alerts stay open."""
    case = open_case(engine)
    engine.scan(LATE)
    refused(engine, ConcurrentUpdate, engine.fire, case.id, "reject", actor=DEST_CLERK,
            on=D(2025, 11, 5), explanation="no", expected_version=99)
    assert len(engine.alerts(case_id=case.id, resolved=False)) == 2


def test_correcting_the_date_a_span_ended_moves_the_day_its_alerts_were_resolved(engine):
    """A supervisor who corrects the date of the step that ended a span moves the day its
    alerts were resolved with it."""
    case = open_case(engine)
    engine.scan(LATE)
    engine.fire(case.id, "withdraw", actor=APPLICANT, on=D(2025, 11, 5))
    engine.correct_business_date(case.id, D(2025, 11, 3), actor=SUPERVISOR, reason="typo")
    assert {a.resolved_on for a in engine.alerts(case_id=case.id)} == {D(2025, 11, 3)}


def test_alerts_of_a_span_whose_due_date_moved_earlier_are_resolved_and_raised_again(engine):
    """"Alerts already raised for a span whose due date moved are resolved or re-raised, never
    left stale": the opening date corrected from 09-29 to 09-26 moves the review's due date to
    10-23; the next scan resolves the alerts naming the old date (due_date_moved, on its as-of
    date) and raises them again with the new one, now escalated too (7 working days late)."""
    case = open_case(engine, on=D(2025, 9, 29))
    old_due = engine.spans(case.id)[0].due_on
    assert old_due == D(2025, 10, 27)
    engine.scan(LATE)
    assert _open(engine, case_id=case.id) == {("overdue", old_due, None)}
    engine.correct_business_date(case.id, D(2025, 9, 26), actor=SUPERVISOR, reason="Friday")
    result = engine.scan(D(2025, 11, 3))
    assert result.resolved == 1 and result.counts == {"overdue": 1, "escalated": 1}
    assert [(a.level, a.due_on, a.resolved_on, a.resolution)
            for a in engine.alerts(case_id=case.id, resolved=True)] == [
        ("overdue", old_due, D(2025, 11, 3), "due_date_moved")]
    assert _open(engine, case_id=case.id) == {("overdue", DUE, None), ("escalated", DUE, None)}
    assert engine.scan(D(2025, 11, 4)).resolved == 0  # the new ones are not stale


def test_alerts_of_a_span_whose_due_date_moved_later_are_resolved_and_not_raised_again(engine):
    """A due date moved later than the scan's day leaves the span no longer overdue: the next
    scan resolves its overdue alert and raises none at that level."""
    case = open_case(engine)
    engine.scan(D(2025, 10, 24))
    assert _open(engine, case_id=case.id) == {("overdue", DUE, None)}
    engine.correct_business_date(case.id, D(2025, 10, 9), actor=SUPERVISOR, reason="typo")
    new_due = engine.spans(case.id)[0].due_on
    assert new_due > D(2025, 10, 27)
    assert engine.scan(D(2025, 10, 27)).resolved == 1
    assert [a.level for a in engine.alerts(case_id=case.id, resolved=True)] == ["overdue"]
    assert {level for level, due, _ in _open(engine, case_id=case.id)} <= {"due_soon"}
    assert all(due == new_due for _, due, _ in _open(engine, case_id=case.id))


def test_the_api_s_alert_listing_and_the_metrics_count_only_unresolved_alerts(engine):
    """GET /api/v1/alerts lists only unresolved alerts, and /metrics' open alerts by level
    count only those: a rejected case's resolved alerts are in neither."""
    waiting, rejected = open_case(engine), open_case(engine)
    engine.scan(LATE)
    engine.fire(rejected.id, "reject", actor=DEST_CLERK, on=D(2025, 11, 5), explanation="no")
    token, _ = engine.access_service.create_token("c-12", "clerk", DESTINATION)
    with running(create_app(engine)) as site:
        listed = httpx.get(f"{site}/api/v1/alerts",
                           headers={"Authorization": f"Bearer {token}"}).json()
        metrics = httpx.get(f"{site}/metrics").text
    assert {(a["case_id"], a["resolved_on"]) for a in listed} == {(waiting.id, None)}
    assert len(listed) == 2
    assert engine.gauges().open_alerts == {"overdue": 1, "escalated": 1}
    assert 'sstransfer_open_alerts{level="overdue"} 1.0' in metrics
    assert 'sstransfer_open_alerts{level="escalated"} 1.0' in metrics


# --- the dashboard ------------------------------------------------------------------------------
@contextmanager
def _signed_in(engine) -> Iterator[Browser]:
    token, _ = engine.access_service.create_token("c-12", "clerk", DESTINATION)
    with running(create_app(engine)) as site, Browser(base_url=site) as client:
        assert client.sign_in(token).status_code == 303
        yield client


def _rows(page: str, table: str) -> list[str]:
    body = page.split(f'<table id="{table}">', 1)[1].split("</table>", 1)[0]
    return re.findall(r"<tr[ >].*?</tr>", body.split("<tbody>", 1)[1], re.S)


def test_the_alerts_page_shows_one_line_per_span_at_its_highest_level_resolved_ones_apart(
        engine):
    """"The alerts page shows one row per span with its highest level": a span overdue and
    escalated is one line, escalated; open lines only by default, a rejected case's resolved
    line under ?show=resolved with the day it was resolved, both under ?show=all (open first)."""
    late, soon, rejected = open_case(engine), open_case(engine, on=D(2025, 10, 14)), \
        open_case(engine)
    engine.scan(LATE)
    engine.fire(rejected.id, "reject", actor=DEST_CLERK, on=D(2025, 11, 5), explanation="no")
    with _signed_in(engine) as client:
        shown = client.get("/alerts").text
        resolved = client.get("/alerts?show=resolved").text
        both = client.get("/alerts?show=all").text
    rows = _rows(shown, "alerts")
    assert len(rows) == 2
    assert f">{late.id}</a>" in rows[0] and "升级督办" in rows[0] and "逾期6个工作日" in rows[0]
    assert f">{soon.id}</a>" in rows[1] and "即将到期" in rows[1]
    assert f">{rejected.id}</a>" not in shown
    [line] = _rows(resolved, "alerts")
    assert f">{rejected.id}</a>" in line and "2025年11月5日" in line and "时限已办结" in line
    assert [f">{c.id}</a>" in r for c, r in zip((late, soon, rejected), _rows(both, "alerts"),
                                                  strict=True)] == [True] * 3


def test_the_inbox_and_the_alerts_page_count_from_the_last_scan_s_date_and_say_when_it_ran(
        engine):
    """"The inbox and the alerts page agree on the days left or late": both count working days
    from one day, the as-of date of the last scan (today before any), state it, and say when
    the last scan ran and as of which date."""
    case = open_case(engine)
    with _signed_in(engine) as client:
        assert "尚未运行过扫描" in client.get("/").text
        engine.scan(LATE)
        inbox, alerts = client.get("/").text, client.get("/alerts").text
    [line] = _rows(inbox, "inbox")
    [row] = _rows(alerts, "alerts")
    assert f">{case.id}</a>" in line and f">{case.id}</a>" in row
    assert "逾期6个工作日" in line and "逾期6个工作日" in row
    for page in (inbox, alerts):
        assert "工作日按2025年10月31日计算" in page
        assert re.search(r"最近一次扫描于\d{4}-\d\d-\d\d \d\d:\d\d完成，基准日为2025年10月31日", page)


@pytest.mark.parametrize("show", ["open", "bogus"])
def test_an_unknown_alerts_view_shows_the_open_alerts(engine, show):
    """?show= other than open, resolved or all shows the default view: the open lines."""
    open_case(engine)
    engine.scan(LATE)
    with _signed_in(engine) as client:
        page = client.get(f"/alerts?show={show}")
    assert page.status_code == 200 and len(_rows(page.text, "alerts")) == 1


def test_migration_0011_resolves_the_alerts_of_spans_already_ended_on_the_day_they_ended(
        engine):
    """A database made before alerts had a life (revision 0010) keeps its alerts; upgrading
    resolves those of spans already ended on the day the span ended, and leaves the others
    open."""
    from alembic import command

    from workflow.store.schema import _alembic_config, upgrade

    ended, running_ = open_case(engine), open_case(engine)
    engine.scan(LATE)
    engine.fire(ended.id, "reject", actor=DEST_CLERK, on=D(2025, 11, 5), explanation="no")
    with engine.db.connect() as conn, conn.begin():
        command.downgrade(_alembic_config(conn), "0010")
    upgrade(engine.db)
    assert {(a.resolved_on, a.resolution) for a in engine.alerts(case_id=ended.id)} == {
        (D(2025, 11, 5), "span_ended")}
    assert {(a.resolved_on, a.resolution) for a in engine.alerts(case_id=running_.id)} == {
        (None, None)}
