"""Telling people: the outbox. Each step's event is written in the step's own transaction
and delivered afterwards, exactly once while processes live, to the applicant (mail through
a real SMTP server, text messages through an agency's adapter) and to the agencies'
subscriptions (webhooks to a real HTTP server), retried with backoff, parked dead with its
error, sent again on request; on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest
import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session

from tests.conftest import (
    DEST_CLERK,
    DESTINATION,
    ORIGIN,
    ORIGIN_CLERK,
    SHIPPED,
    call_cli,
    full_documents,
    open_case,
    refused,
    snapshot,
)
from tests.live import running
from tests.receivers import RecordingSms, smtp_server, webhook_receiver
from tests.web import Browser
from workflow import CaseNotFound, Engine, InvalidInput, InvalidRow, MissingDocuments, Settings
from workflow.api import create_app
from workflow.core.notify import backoff_seconds, mask_email, mask_phone, signature
from workflow.store.tables import events_t
from workflow.testing import valid_person_id

FORM = {"periods": ["1998-01:1999-12:3000.00"], "personal_account": "1000.00"}
PHONE, EMAIL = "13800138000", "zhang.san@example.com"


@pytest.fixture
def make_engine(db_url, schema_copy):
    """An engine on the shipped definitions (pension_transfer 2 issues papers) with the
    given settings; each made on the same database."""
    made: list[Engine] = []
    first = [True]

    def make(**settings: object) -> Engine:
        url = schema_copy(db_url) if first[0] else db_url
        first[0] = False
        engine = Engine(url, definitions=SHIPPED, settings=Settings(**settings))
        made.append(engine)
        return engine

    yield make
    for engine in made:
        engine.close()


def _continued(engine: Engine, **open_args: object):
    case = open_case(engine, **open_args)
    for trigger in ("review", "send_letter"):
        case = engine.fire(case.id, trigger, actor=DEST_CLERK, on=case.last_event_on)
    case = engine.fire(case.id, "move_funds", actor=ORIGIN_CLERK, on=case.last_event_on,
                       information_form=FORM)
    return engine.fire(case.id, "continue_relationship", actor=DEST_CLERK,
                       on=case.last_event_on, months_at_destination=12)


def _events(engine: Engine) -> list[tuple[str, int]]:
    return [(e.name, e.case_id) for e in reversed(engine.outbox(limit=1000))]


# --- events written with their steps ---------------------------------------------------------
def test_each_step_writes_its_event_in_its_transaction_and_a_refused_one_none(make_engine):
    """Opening writes case.opened; a refused step writes nothing (the outbox too); review and
    send_letter tell nobody; continue_relationship writes case.continued with the cumulative
    months (24 on the form + 12 at the destination) and its completion notice."""
    engine = make_engine()
    wanting = open_case(engine, documents=["application_form"])
    refused(engine, MissingDocuments, engine.fire, wanting.id, "review", actor=DEST_CLERK,
            on=wanting.last_event_on)
    case = _continued(engine)
    assert _events(engine) == [("case.opened", wanting.id), ("case.opened", case.id),
                               ("case.continued", case.id)]
    [continued] = engine.outbox(state="pending", case_id=case.id, limit=1)
    paper = engine.paper(continued.paper_id)
    assert (continued.data, paper.kind) == ({"contribution_months": 36}, "completion_notice")
    assert continued.business_date == case.last_event_on


def test_a_step_rolled_back_with_the_host_session_leaves_no_event(make_engine):
    """A case opened in the host application's session and rolled back with it: no case, no
    event; committed with it: both."""
    engine = make_engine()
    with Session(engine.db) as session:
        open_case(engine, session=session)
        session.rollback()
    assert engine.outbox() == []
    with Session(engine.db) as session:
        case = open_case(engine, session=session)
        session.commit()
    assert _events(engine) == [("case.opened", case.id)]


def test_a_refusal_and_a_request_for_documents_say_why_and_what_by_name(make_engine):
    """case.rejected carries the written reason and the refusal's paper; documents.requested
    every document by its kind and Chinese name, and the one-time notice; a withdrawal its
    event."""
    engine = make_engine()
    rejected = open_case(engine)
    engine.fire(rejected.id, "reject", actor=DEST_CLERK, on=rejected.last_event_on,
                explanation="缴费记录不符")
    wanting = open_case(engine, documents=["application_form"])
    engine.fire(wanting.id, "request_documents", actor=DEST_CLERK, on=wanting.last_event_on,
                documents_needed=["id_card"])
    gone = open_case(engine)
    engine.fire(gone.id, "withdraw", actor=DEST_CLERK, on=gone.last_event_on)
    by_name = {e.name: e for e in engine.outbox(limit=100)}
    assert by_name["case.rejected"].data == {"reason": "缴费记录不符"}
    assert engine.paper(by_name["case.rejected"].paper_id).kind == "refusal_explanation"
    assert by_name["documents.requested"].data == {
        "documents": [{"kind": "id_card", "title": "居民身份证原件及复印件"}]}
    assert engine.paper(by_name["documents.requested"].paper_id).kind == "one_time_notice"
    assert by_name["case.withdrawn"].case_id == gone.id


def test_a_scan_writes_one_alert_raised_event_per_new_alert(make_engine):
    """Each alert a scan raises has its alert.raised event, written with it: scanning the
    same day again raises nothing and writes no event."""
    engine = make_engine()
    case = open_case(engine, on=dt.date(2025, 9, 26))
    engine.scan(dt.date(2025, 11, 20))
    alerts = engine.alerts(case_id=case.id)
    raised = [e for e in engine.outbox(limit=100) if e.name == "alert.raised"]
    assert alerts and sorted(e.data["alert_id"] for e in raised) == sorted(a.id for a in alerts)
    assert {e.data["level"] for e in raised} == {a.level for a in alerts}
    engine.scan(dt.date(2025, 11, 20))
    assert len([e for e in engine.outbox(limit=100) if e.name == "alert.raised"]) == len(raised)


# --- the applicant's contact details ----------------------------------------------------------
def test_contact_details_are_checked_and_a_bad_one_writes_nothing(make_engine):
    """A phone that is not a mainland mobile number, or a malformed address, is refused in
    the user's terms and nothing is written; +86 and spaces are accepted."""
    engine = make_engine()
    before = snapshot(engine)
    with pytest.raises(InvalidInput, match="contact_phone must be a mainland mobile"):
        open_case(engine, contact_phone="12345")
    with pytest.raises(InvalidInput, match="contact_email must be an email address"):
        open_case(engine, contact_email="not an address")
    assert snapshot(engine) == before
    case = open_case(engine, contact_phone="+86 138 0013 8000", contact_email="A@Example.COM")
    assert engine.outbox_service.store.contact(case.id) == (PHONE, "A@example.com")
    assert (mask_phone(PHONE), mask_email(EMAIL)) == ("138****8000", "z***@example.com")


def test_contact_details_are_never_logged(make_engine, tmp_path):
    """Opening, stepping and delivering with contact details logs neither the phone nor the
    address (messages name their recipients by id)."""
    RecordingSms.sent.clear()
    with smtp_server() as box:
        engine = make_engine(smtp_host="127.0.0.1", smtp_port=box.port,
                             smtp_from="noreply@example.gov.cn",
                             sms_adapter="tests.receivers:make_sms")
        with structlog.testing.capture_logs() as logs:
            _continued(engine, contact_phone=PHONE, contact_email=EMAIL)
            run = engine.deliver_outbox()
    assert run.delivered == 4  # opened and continued, by mail and by text message
    text = json.dumps(logs, default=str, ensure_ascii=False)
    assert PHONE not in text and EMAIL not in text
    listed = json.dumps([m.to_dict() for m in engine.outbox_messages(engine.outbox())],
                        ensure_ascii=False)
    assert PHONE not in listed and EMAIL not in listed and "138****8000" in listed


# --- channels, against real servers -------------------------------------------------------------
def test_a_continued_case_reaches_a_webhook_once_with_a_valid_signature(make_engine):
    """The destination's webhook subscription to case.continued gets exactly one POST for a
    case taken to continued: its Idempotency-Key is the event's id and its signature checks
    with the subscription's secret; delivering again sends nothing more."""
    engine = make_engine()
    with webhook_receiver() as hook:
        sub, hook.secret = engine.add_subscription(
            agency=DESTINATION, events=["case.continued"], channel="webhook", target=hook.url,
            created_by="s-1")
        case = _continued(engine)
        assert engine.deliver_outbox().delivered == 1
        engine.deliver_outbox()
        [got] = hook.received
    [event] = [e for e in engine.outbox() if e.name == "case.continued"]
    assert got["signed"] and got["key"] == event.event_id
    assert got["event"]["name"] == "case.continued" and got["event"]["case_id"] == case.id
    assert got["event"]["data"] == {"contribution_months": 36}
    assert event.state == "delivered" and sub.secret is not None


def test_the_signature_is_hmac_of_timestamp_and_body_and_old_ones_are_replays():
    """sha256=HMAC-SHA256(secret, "<timestamp>.<body>"); a receiver refuses a signature over
    another body and a timestamp older than 5 minutes."""
    import hashlib
    import hmac

    from workflow.core.notify import verify_signature

    body, stamp = b'{"id":"e1"}', 1_700_000_000
    expected = "sha256=" + hmac.new(b"k", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature("k", stamp, body) == expected
    assert verify_signature("k", str(stamp), expected, body, now=stamp + 299)
    assert not verify_signature("k", str(stamp), expected, body, now=stamp + 301)
    assert not verify_signature("k", str(stamp), expected, b"{}", now=stamp)


def test_the_applicant_gets_the_chinese_completion_mail_through_smtp_with_login(make_engine,
                                                                                 tmp_path):
    """With an SMTP server (login required, the password read from a file) the applicant who
    gave an address gets 办结通知 in Chinese: the paper's title in the subject, where and
    the cumulative months in the body, never the ID number."""
    (tmp_path / "password").write_text("s3cret\n", encoding="utf-8")
    with smtp_server(user="sstransfer", password="s3cret") as box:
        engine = make_engine(smtp_host="127.0.0.1", smtp_port=box.port,
                             smtp_from="noreply@example.gov.cn", smtp_user="sstransfer",
                             smtp_password_file=str(tmp_path / "password"))
        case = _continued(engine, contact_email=EMAIL)
        assert engine.deliver_outbox().delivered == 2
    assert box.logins == ["sstransfer", "sstransfer"]
    mail = next(m for m in box.messages if "办结通知" in m["Subject"])
    body = mail.get_content()
    assert mail["To"] == EMAIL and mail["From"] == "noreply@example.gov.cn"
    assert mail["Subject"] == ("【社会保险关系转移】基本养老保险关系转移接续办结通知"
                               f"（业务流水号 {case.public_number}）")
    assert "上海市" in body and "深圳市" in body and "累计缴费月数 36 个月" in body
    assert case.person_id not in body


def test_text_messages_go_through_the_agencys_adapter(make_engine):
    """[notify] sms_adapter names a factory of an object with send(to, text) -> provider id:
    the applicant's mobile number gets the refusal's reason; the provider's id is kept."""
    RecordingSms.sent.clear()
    engine = make_engine(sms_adapter="tests.receivers:make_sms")
    case = open_case(engine, contact_phone=PHONE)
    engine.fire(case.id, "reject", actor=DEST_CLERK, on=case.last_event_on, explanation="材料不全")
    assert engine.deliver_outbox().delivered == 2
    assert [to for to, _ in RecordingSms.sent] == [PHONE, PHONE]
    assert "理由：材料不全" in RecordingSms.sent[-1][1]
    ids = {m.provider_id for m in engine.outbox_messages(engine.outbox())}
    assert ids == {"sms-1", "sms-2"}


def test_without_email_or_sms_configured_the_applicant_gets_no_message(make_engine):
    """Contact details but no SMTP server and no SMS adapter: the events are fanned out to
    nobody and count as delivered (there is no one to tell)."""
    engine = make_engine()
    open_case(engine, contact_phone=PHONE, contact_email=EMAIL)
    run = engine.deliver_outbox()
    assert (run.fanned_out, run.delivered) == (1, 0)
    assert [e.state for e in engine.outbox()] == ["delivered"]


# --- retries, dead messages, slow receivers -------------------------------------------------------
def test_a_failing_receiver_is_retried_with_backoff_then_parked_dead_and_sent_again_on_retry(
        make_engine):
    """A receiver answering 500: the message is tried again after the backoff, parked dead
    after outbox_max_attempts with its last error; `retry` makes it pending again and it is
    delivered once the receiver answers 204."""
    # A backoff of 2 s waits at least 1 s (equal jitter): long enough that the "not due yet"
    # call below comes before it on a loaded machine, short enough to wait out.
    engine = make_engine(outbox_max_attempts=2, outbox_backoff_seconds=2.0)
    with webhook_receiver(status=500) as hook:
        engine.add_subscription(agency=DESTINATION, channel="webhook", target=hook.url,
                                created_by="s-1")
        open_case(engine)
        first = engine.deliver_outbox()
        assert (first.failed, first.dead) == (1, 0)
        [message] = engine.outbox_messages(engine.outbox())
        assert message.state == "pending" and message.attempts == 1
        assert message.next_attempt_at > message.created_at
        assert engine.deliver_outbox().failed == 0  # not due yet
        time.sleep(max(0.0, (message.next_attempt_at - dt.datetime.now(dt.UTC))
                       .total_seconds()) + 0.05)
        assert engine.deliver_outbox().dead == 1
        [event] = engine.outbox()
        [message] = engine.outbox_messages([event])
        assert (event.state, message.state, message.last_error) == (
            "dead", "dead", "the receiver answered HTTP 500")
        hook.status = 204
        assert engine.retry_outbox(event.id) == 1
        assert engine.deliver_outbox().delivered == 1
        assert len(hook.received) == 3
    assert [e.state for e in engine.outbox()] == ["delivered"]


def test_the_backoff_doubles_up_to_its_cap_with_equal_jitter():
    """30 s, 60 s, 120 s ... at most the cap; half fixed, half scaled by the jitter."""
    assert [backoff_seconds(n, 30, 3600, 1.0) for n in (1, 2, 3)] == [30, 60, 120]
    assert backoff_seconds(20, 30, 3600, 1.0) == 3600
    assert backoff_seconds(1, 30, 3600, 0.0) == 15


def test_a_slow_receiver_holds_up_only_its_own_messages(make_engine):
    """One subscription's receiver takes 2 s (beyond the 0.5 s timeout), another answers at
    once: the quick one gets both events, the slow one's messages fail and wait."""
    engine = make_engine(webhook_timeout_seconds=0.5)
    with webhook_receiver(delay=2.0) as slow, webhook_receiver() as quick:
        for hook in (slow, quick):
            engine.add_subscription(agency=DESTINATION, channel="webhook", target=hook.url,
                                    created_by="s-1")
        open_case(engine)
        open_case(engine)
        started = time.monotonic()
        run = engine.deliver_outbox()
        took = time.monotonic() - started
        assert (run.delivered, run.failed) == (2, 2)
        assert len(quick.received) == 2
    assert took < 2.5  # side by side: not 2 × the slow receiver's timeouts plus the quick one


def test_two_deliverers_at_once_send_each_message_once(make_engine):
    """Two engines (two instances) deliver at the same moment: the lease lets one run, so the
    receiver gets each event once."""
    first, second = make_engine(), make_engine()
    with webhook_receiver(delay=0.05) as hook:
        first.add_subscription(agency=DESTINATION, channel="webhook", target=hook.url,
                               created_by="s-1")
        for _ in range(6):
            open_case(first)
        runs = []
        threads = [threading.Thread(target=lambda e=e: runs.append(e.deliver_outbox()))
                   for e in (first, second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        first.deliver_outbox()
        second.deliver_outbox()
        keys = hook.keys()
    assert len(keys) == len(set(keys)) == 6


def test_a_deliverer_killed_again_and_again_loses_nothing_and_resends_at_most_once_per_kill(
        make_engine, db_url, tmp_path):
    """Real processes: `sstransfer outbox deliver` is SIGKILLed mid-delivery again and again
    while a loopback receiver counts. Every committed event is delivered, and the duplicates
    (told apart by Idempotency-Key) are at most one per kill."""
    engine = make_engine()
    settings = tmp_path / "settings.toml"
    settings.write_text("[monitor]\nlease_seconds = 1\n", encoding="utf-8")
    env = {**os.environ, "SSTRANSFER_DATABASE_URL": db_url,
           "SSTRANSFER_DEFINITIONS": str(SHIPPED), "SSTRANSFER_SETTINGS": str(settings)}
    with webhook_receiver(delay=0.03) as hook:
        engine.add_subscription(agency=DESTINATION, channel="webhook", target=hook.url,
                                created_by="s-1")
        # sixty people: one running transfer per person and insurance
        engine.open_cases([{"definition": "pension_transfer",
                            "person_id": valid_person_id(seed=300 + i),
                            "person_name": f"申请人{i}", "origin": ORIGIN,
                            "destination": DESTINATION, "applicant": "employer",
                            "documents": full_documents("pension_transfer")}
                           for i in range(60)], actor=DEST_CLERK)
        committed = {e.event_id for e in engine.outbox(limit=1000)}
        kills, deadline = 0, time.monotonic() + 120
        while engine.outbox(state="pending", limit=1) and time.monotonic() < deadline:
            got = len(hook.received)
            proc = subprocess.Popen([sys.executable, "-m", "workflow.cli", "outbox", "deliver"],
                                    env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            # Kill it once it has sent a few more (or let it finish after the 5th kill).
            while kills < 5 and proc.poll() is None and len(hook.received) < got + 5:
                time.sleep(0.01)
            if kills < 5 and proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait(timeout=60)
            time.sleep(1.1)  # the killed holder's lease runs out
        keys = hook.keys()
    assert kills == 5
    assert set(keys) == committed
    assert len(keys) - len(set(keys)) <= kills
    print(f"\nkill test: {len(committed)} events, {kills} kills, {len(keys)} requests, "
          f"{len(keys) - len(set(keys))} duplicates")


# --- subscriptions, the CLI and the API ------------------------------------------------------------
def test_subscriptions_are_managed_at_the_cli_and_the_outbox_listed_by_event_name(
        make_engine, db_url, tmp_path):
    """`subscriptions add|list|remove` and `outbox list|deliver|retry`, with the global --json:
    each event by its name; a bad channel or event name is one line, no traceback."""
    engine = make_engine()
    open_case(engine)
    env = {"SSTRANSFER_DATABASE_URL": db_url, "SSTRANSFER_DEFINITIONS": str(SHIPPED),
           "COLUMNS": "200"}

    def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = call_cli(*args, env=env, cwd=tmp_path)
        assert (done.returncode == 0) is ok, done.stdout + done.stderr
        if not ok:
            assert "Traceback" not in done.stderr and done.stderr.strip().count("\n") == 0
        return done

    added = json.loads(run("--json", "subscriptions", "add", "--agency", DESTINATION,
                           "--channel", "email", "--target", "desk@example.gov.cn",
                           "--event", "case.opened").stdout)
    assert added["secret"] is None and added["subscription"]["events"] == ["case.opened"]
    assert "desk@example.gov.cn" in run("subscriptions", "list").stdout
    listed = json.loads(run("--json", "outbox", "list").stdout)
    assert [e["name"] for e in listed] == ["case.opened"]
    assert listed[0]["state"] == "pending"
    assert "not yet fanned out" in run("outbox", "list").stdout
    before = snapshot(engine)
    run("subscriptions", "add", "--agency", DESTINATION, "--channel", "fax", "--target", "x",
        ok=False)
    run("subscriptions", "add", "--agency", DESTINATION, "--channel", "webhook", "--target",
        "http://127.0.0.1:9/", "--event", "case.lost", ok=False)
    run("outbox", "list", "--state", "lost", ok=False)
    run("outbox", "retry", "999", ok=False)
    assert snapshot(engine) == before
    run("subscriptions", "remove", str(added["subscription"]["id"]))
    assert engine.subscriptions() == []


def test_the_api_gives_the_outbox_and_subscriptions_to_supervisors_of_their_agency_only(
        make_engine):
    """GET /api/v1/outbox lists the supervisor's cases' events with their recipients masked;
    POST /api/v1/subscriptions returns the webhook's secret once; a clerk is refused (403),
    and so is a supervisor of another agency subscribing for this one."""
    engine = make_engine()
    open_case(engine, contact_email=EMAIL)
    sup, _ = engine.access_service.create_token("s-1", "supervisor", DESTINATION)
    other, _ = engine.access_service.create_token("s-2", "supervisor", "110000")
    clerk, _ = engine.access_service.create_token("c-12", "clerk", DESTINATION)
    with running(create_app(engine)) as site, httpx.Client(base_url=site, timeout=60) as client:
        def call(method: str, path: str, token: str, **kw: object) -> httpx.Response:
            return client.request(method, f"/api/v1{path}",
                                  headers={"Authorization": f"Bearer {token}"}, **kw)
        made = call("POST", "/subscriptions", sup, json={
            "channel": "webhook", "target": "http://127.0.0.1:9/hook"})
        assert made.status_code == 201 and len(made.json()["secret"]) > 20
        assert made.json()["subscription"]["agency"] == DESTINATION
        assert "secret" not in call("GET", "/subscriptions", sup).json()["items"][0]
        engine.deliver_outbox()
        items = call("GET", "/outbox", sup).json()["items"]
        assert [i["name"] for i in items] == ["case.opened"]
        assert EMAIL not in json.dumps(items)
        assert call("GET", "/outbox", clerk).status_code == 403
        assert call("GET", "/outbox", other).json()["items"] == []
        assert call("POST", "/subscriptions", other, json={
            "agency": DESTINATION, "channel": "email",
            "target": "x@example.com"}).status_code == 403
        assert call("POST", "/subscriptions", sup, json={
            "channel": "webhook", "target": "ftp://x"}).status_code == 422
        sub_id = made.json()["subscription"]["id"]
        assert call("DELETE", f"/subscriptions/{sub_id}", other).status_code == 403
        assert [s.id for s in engine.subscriptions()] == [sub_id]  # the refusals wrote none
        assert call("DELETE", f"/subscriptions/{sub_id}", sup).status_code == 204
        assert call("DELETE", f"/subscriptions/{sub_id}", sup).status_code == 404


def test_the_dashboard_shows_the_outbox_to_supervisors_with_a_retry_button(make_engine):
    """/outbox lists each event by its Chinese name with its recipients' delivery; a dead
    one has a 重新发送 button that makes it pending again; a clerk gets 403."""
    engine = make_engine(outbox_max_attempts=1)
    with webhook_receiver(status=503) as hook:
        engine.add_subscription(agency=DESTINATION, channel="webhook", target=hook.url,
                                created_by="s-1")
        open_case(engine)
        assert engine.deliver_outbox().dead == 1
    sup, _ = engine.access_service.create_token("s-1", "supervisor", DESTINATION)
    clerk, _ = engine.access_service.create_token("c-12", "clerk", DESTINATION)
    with running(create_app(engine)) as site:
        with Browser(base_url=site) as client:
            client.post("/login", data={"token": sup, "next": "/"})
            page = client.get("/outbox").text
            assert "申请已登记" in page and "发送失败" in page and "重新发送" in page
            [event] = engine.outbox()
            done = client.post(f"/outbox/{event.id}/retry", data={})
            assert done.status_code == 303
            assert engine.outbox()[0].state == "pending"
        with Browser(base_url=site) as client:
            client.post("/login", data={"token": clerk, "next": "/"})
            assert client.get("/outbox").status_code == 403


def test_the_outbox_tables_hold_only_committed_events(make_engine):
    """Bulk opening of two applications, the second refused: nothing is opened and no event
    is written."""
    engine = make_engine()
    good = {"definition": "pension_transfer", "person_id": "11010519491231002X",
            "person_name": "张三", "origin": ORIGIN, "destination": DESTINATION,
            "applicant": "employer", "documents": ["application_form"]}
    refused(engine, InvalidRow, engine.open_cases, [good, {**good, "contact_phone": "1"}],
            actor=DEST_CLERK)
    with engine.db.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(events_t)) == 0


def test_a_supervisor_of_another_agency_may_not_retry(make_engine):
    """Retrying an event is refused to a supervisor who may not read its case."""
    engine = make_engine()
    open_case(engine)
    from workflow.core.access import Principal

    desk = engine.desk(Principal("s-2", "supervisor", "110000"))
    with pytest.raises(CaseNotFound):  # to them, that case is not there
        desk.retry_outbox(engine.outbox()[0].id)

