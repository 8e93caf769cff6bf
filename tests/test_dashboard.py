"""The dashboard's pages, driven over HTTP against a running uvicorn server (SQLite and
PostgreSQL): signing in, scoping to the user's agency, Chinese first with an English switch,
steps fired from the case page, refusals shown in place, and the access log."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.conftest import (
    DESTINATION,
    ORIGIN,
    OTHER_PERSON_ID,
    PERSON_ID,
    full_documents,
    open_case,
    snapshot,
)
from tests.live import running
from tests.web import Browser
from workflow.api import create_app
from workflow.api.auth import SESSION_COOKIE
from workflow.api.dashboard import LANG_COOKIE
from workflow.core.queries import InboxQuery
from workflow.testing import valid_person_id


@pytest.fixture
def site(engine):
    with running(create_app(engine)) as url:
        yield url


def _token(engine, actor: str, role: str, agency: str | None = None, **kw) -> str:
    token, _ = engine.access_service.create_token(actor, role, agency, **kw)
    return token


@contextmanager
def _signed_in(site: str, token: str) -> Iterator[Browser]:
    """A client signed in with ``token`` (its cookie kept, as a browser does)."""
    with Browser(base_url=site) as client:
        r = client.sign_in(token)
        assert r.status_code == 303 and r.headers["location"] == "/", r.text
        yield client


def _reads(engine) -> list[tuple[str, int, str, str]]:
    return [(e.actor_id, e.case_id, e.view, e.via)
            for e in engine.access_service.store.access_log(limit=1000)]


def _without_access_log(rows: dict[str, list]) -> dict[str, list]:
    """The database but the records of who signed in and what they read (a refused step
    leaves everything else as it was)."""
    return {name: value for name, value in rows.items()
            if name not in ("access_log", "web_session")}


def test_a_page_without_a_valid_sign_in_goes_to_the_login_page_and_a_wrong_token_is_401(
        engine, site):
    """No session: every page redirects to /login (keeping where it was going); a wrong token
    gets the message in place with 401; a right one a server-side session, whose random id is
    the HttpOnly, SameSite=Strict cookie (never the token); signing out ends it."""
    case = open_case(engine)
    with Browser(base_url=site) as client:
        for path in ("/", "/overdue", f"/cases/{case.id}", "/alerts", "/reports",
                     "/reports/overdue.csv"):
            r = client.get(path)
            assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path
        r = client.post(f"/cases/{case.id}/fire", data={"trigger": "review", "version": "1"})
        assert r.headers["location"] == f"/login?next=%2Fcases%2F{case.id}"
        r = client.get("/login")
        assert r.status_code == 200 and '<html lang="zh-CN">' in r.text and "访问令牌" in r.text
        r = client.sign_in("not-a-token-at-all")
        assert r.status_code == 401 and 'role="alert"' in r.text and "令牌无效" in r.text
        client.cookies.set(SESSION_COOKIE, "not-a-session-at-all")
        assert client.get("/").status_code == 303
    token = _token(engine, "c-12", "clerk", DESTINATION)
    with Browser(base_url=site) as client:
        r = client.sign_in(token, next=f"/cases/{case.id}")
        assert r.status_code == 303 and r.headers["location"] == f"/cases/{case.id}"
        cookie = r.headers["set-cookie"]
        assert f"{SESSION_COOKIE}=" in cookie and "HttpOnly" in cookie and token not in cookie
        assert "samesite=strict" in cookie.lower()
        stolen = client.cookies[SESSION_COOKIE]
        r = client.get(f"/cases/{case.id}")
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
        r = client.post("/logout", data={})
        assert r.status_code == 200 and client.get("/").status_code == 303
    # The cookie of a session that was signed out is worth nothing, kept or copied.
    with httpx.Client(base_url=site, cookies={SESSION_COOKIE: stolen}, timeout=60) as client:
        assert client.get(f"/cases/{case.id}").status_code == 303
    # Where to go after signing in is a path of this site, never another host.
    with Browser(base_url=site) as client:
        r = client.sign_in(token, next="//evil.example/")
        assert r.headers["location"] == "/"


def test_an_applicant_token_may_not_sign_in_to_the_dashboard(engine, site):
    """The dashboard is for agency staff: an employer's token is refused at sign-in (403)."""
    token = _token(engine, "hr-7", "employer")
    with Browser(base_url=site) as client:
        r = client.sign_in(token)
    assert r.status_code == 403 and "仅供经办机构人员使用" in r.text


def test_the_inbox_lists_the_agency_s_running_spans_in_chinese_with_badges_and_logs_reads(
        engine, site):
    """The destination agency's inbox shows the running review span of a case received on
    2025-09-26 (long overdue): names from the definitions, the agency by name, Chinese dates,
    the overdue and escalated badges; the ID number never; one access-log row per case."""
    case = open_case(engine)
    with _signed_in(site, _token(engine, "c-12", "clerk", DESTINATION)) as client:
        r = client.get("/")
    assert r.status_code == 200 and '<html lang="zh-CN">' in r.text
    page = r.text
    assert "440300 深圳市待办环节" in page and "张三" in page and "转入地审核" in page
    assert "已申请（待受理）" in page and "2025年9月26日" in page
    assert 'class="badge overdue"' in page and "升级督办" in page
    assert f'href="/cases/{case.id}"' in page and PERSON_ID not in page
    assert _reads(engine) == [("c-12", case.id, "inbox", "dashboard")]


def test_the_inbox_shows_both_due_dates_where_the_agency_committed_to_a_shorter_limit(
        db_url, tmp_path):
    """With 440300's committed 7-working-day review (the demo's limits), the inbox shows the
    committed and the statutory due date, and the span past both gets the 超过法定时限 badge."""
    from workflow import Engine
    from workflow.demo import demo_definitions
    from workflow.loading import shipped_definitions_dir

    folder = demo_definitions(shipped_definitions_dir(), tmp_path / "definitions")
    with Engine(db_url, definitions=folder) as engine, running(create_app(engine)) as site:
        open_case(engine)
        with _signed_in(site, _token(engine, "c-12", "clerk", DESTINATION)) as client:
            page = client.get("/").text
    # Received 2025-09-26: committed due after 7 working days, statutory after 15 (the National
    # Day holiday falls between).
    assert "2025年10月13日" in page and "2025年10月23日" in page
    assert 'class="badge statutory_breach"' in page and "超过法定时限" in page


def test_the_inbox_is_sorted_by_due_date_and_paged(engine):
    """The inbox query: running spans of the agency only, soonest due first, counted whole
    and read one page at a time; each classified as the scan would on the day."""
    import datetime as dt

    # three people: one running transfer per person and insurance
    late = open_case(engine, on=dt.date(2025, 9, 1))
    early = open_case(engine, on=dt.date(2025, 8, 1), person_id=valid_person_id(seed=43))
    open_case(engine, origin=DESTINATION, destination=ORIGIN,  # a span owned by 310000
              person_id=valid_person_id(seed=44))
    as_of = dt.date(2025, 9, 3)
    page = engine.alert_service.inbox(InboxQuery(as_of, agencies=(DESTINATION,), limit=1))
    assert page.total == 2 and [i.span.case_id for i in page.items] == [early.id]
    assert [level for level, _ in page.items[0].levels] == ["overdue", "escalated"]
    page = engine.alert_service.inbox(InboxQuery(as_of, agencies=(DESTINATION,), limit=1,
                                                 offset=1))
    assert [i.span.case_id for i in page.items] == [late.id] and page.items[0].levels == []
    page = engine.alert_service.inbox(InboxQuery(as_of, province="44"))
    assert page.total == 2 and {i.span.owner_agency for i in page.items} == {DESTINATION}


def test_a_province_supervisor_sees_the_spans_of_every_agency_of_the_province(engine, site):
    """A supervisor granted province 44 sees the span owned by 440300 深圳市; a supervisor of
    another province sees an empty inbox and no access-log row is written for them."""
    case = open_case(engine)
    with _signed_in(site, _token(engine, "s-44", "supervisor", province="44")) as client:
        page = client.get("/").text
    assert "张三" in page and "440300 深圳市" in page and "440000 广东省" in page
    with _signed_in(site, _token(engine, "s-11", "supervisor", province="11")) as client:
        page = client.get("/").text
    assert "张三" not in page and "没有正在办理的环节" in page
    assert _reads(engine) == [("s-44", case.id, "inbox", "dashboard")]


def test_a_clerk_of_another_agency_sees_nothing_of_the_case(engine, site):
    """A clerk of 110105 has an empty inbox, the case's page is 404 as for a case that does
    not exist, they cannot fire on it, and their overdue board and report do not show it;
    the access log has their denied attempts only."""
    case = open_case(engine)
    token = _token(engine, "c-99", "clerk", "110105")
    before = snapshot(engine)
    with _signed_in(site, token) as client:
        assert "张三" not in client.get("/").text
        r = client.get(f"/cases/{case.id}")
        assert r.status_code == 404 and 'role="alert"' in r.text and "张三" not in r.text
        r = client.post(f"/cases/{case.id}/fire", data={"trigger": "review",
                                                       "version": str(case.version)})
        assert r.status_code == 404 and "张三" not in r.text
        assert "440300" not in client.get("/overdue").text
        assert "张三" not in client.get("/reports/overdue.csv").text
        assert client.get("/cases/999999").status_code == 404
    after = snapshot(engine)
    assert _without_access_log(after) == _without_access_log(before)
    assert sorted(_reads(engine)) == [("c-99", case.id, "case (denied)", "dashboard")] * 2 + [
        ("c-99", case.id, "step (denied)", "dashboard")]


def test_english_is_one_click_away_and_remembered_in_a_cookie(engine, site):
    """``?lang=en`` shows the page in English (titles from the definitions, ISO dates) and
    sets the language cookie; the next pages stay English until ``?lang=zh``."""
    open_case(engine)
    with _signed_in(site, _token(engine, "c-12", "clerk", DESTINATION)) as client:
        r = client.get("/", params={"lang": "en"})
        assert '<html lang="en">' in r.text and "Inbox of 440300 深圳市" in r.text
        assert "destination review" in r.text and "2025-09-26" in r.text
        assert f"{LANG_COOKIE}=en" in r.headers["set-cookie"]
        r = client.get("/overdue")
        assert '<html lang="en">' in r.text and "Overdue board" in r.text
        assert 'href="/overdue?lang=zh"' in r.text
        r = client.get("/overdue", params={"lang": "zh"})
        assert '<html lang="zh-CN">' in r.text and "逾期看板" in r.text


def test_a_clerk_fires_a_step_from_the_case_page_as_themselves(engine, site):
    """The destination clerk sees the buttons of the triggers they may fire from 已申请 (by
    their Chinese titles; withdraw on the applicant's behalf; the steps that end the transfer
    undone in the danger style), the origin clerk none; the
    destination clerk fires review and the case moves; the history names them."""
    case = open_case(engine, documents=full_documents("pension_transfer"))
    with _signed_in(site, _token(engine, "o-3", "clerk", ORIGIN)) as client:
        page = client.get(f"/cases/{case.id}").text
        assert "</button>" not in page.split("</header>")[1] and "没有可办理的事项" in page
    with _signed_in(site, _token(engine, "c-12", "clerk", DESTINATION)) as client:
        page = client.get(f"/cases/{case.id}").text
        assert re.findall(r'class="(primary|danger)">([^<]*)</button>', page) == [
            ("primary", "审核"), ("danger", "不予受理"), ("primary", "告知补充材料"),
            ("danger", "撤回申请")]
        assert PERSON_ID not in page and case.person_id_masked in page
        r = client.post(f"/cases/{case.id}/fire",
                        data={"trigger": "review", "version": str(case.version)})
        assert r.status_code == 303 and r.headers["location"] == f"/cases/{case.id}?done=review"
        page = client.get(r.headers["location"]).text
        assert 'role="status"' in page and "已办理：审核" in page and "已审核" in page
    assert engine.get(case.id).state == "reviewed"
    last = engine.history(case.id)[-1]
    assert (last.trigger, last.actor_id, last.actor_role) == ("review", "c-12", "destination_clerk")
    assert sorted(_reads(engine)) == [("c-12", case.id, "case", "dashboard")] * 2 + [
        ("o-3", case.id, "case", "dashboard")]


def test_a_refused_step_is_shown_in_place_and_writes_nothing(engine, site):
    """Review without the application documents: the case page comes back with 422 and the
    missing documents named in Chinese (role="alert"); a stale page version gives 409 with
    its own message; an empty explanation is refused; nothing but the reads is written."""
    case = open_case(engine, documents=["application_form"])
    with _signed_in(site, _token(engine, "c-12", "clerk", DESTINATION)) as client:
        before = snapshot(engine)
        _refused_in_place(client, case)
    assert _without_access_log(snapshot(engine)) == _without_access_log(before)
    assert engine.get(case.id).state == "applied"


def _refused_in_place(client: Browser, case) -> None:
    r = client.post(f"/cases/{case.id}/fire", data={"trigger": "review",
                                                   "version": str(case.version)})
    assert r.status_code == 422 and 'role="alert"' in r.text
    refusal = re.search(r'<p class="alert" role="alert" id="refusal">(.*?)</p>', r.text)
    assert refusal and "「审核」还缺以下材料" in refusal.group(1) and "参保缴费凭证" in refusal.group(1)
    r = client.post(f"/cases/{case.id}/fire", data={"trigger": "reject",
                                                   "version": str(case.version - 1),
                                                   "explanation": "材料不全", "confirm": "yes"})
    assert r.status_code == 409 and "案件已被他人更新" in r.text
    r = client.post(f"/cases/{case.id}/fire", data={"trigger": "reject", "explanation": " ",
                                                   "version": str(case.version),
                                                   "confirm": "yes"})
    assert r.status_code == 422 and "未办理" in r.text


def test_a_step_the_state_or_the_role_does_not_allow_is_refused_in_chinese_naming_who_may(
        engine, site):
    """Refusals a clerk reads in Chinese: a step the case's state does not allow names the
    steps possible now; a step for another agency's clerk names who may take it. Nothing but
    the reads is written."""
    case = open_case(engine, documents=full_documents("pension_transfer"))
    clerk, other = _token(engine, "c-12", "clerk", DESTINATION), _token(engine, "o-3", "clerk", ORIGIN)
    before = snapshot(engine)
    with _signed_in(site, clerk) as client:
        r = client.post(f"/cases/{case.id}/fire", data={"trigger": "move_funds",
                                                       "version": str(case.version)})
        assert r.status_code == 409
        assert _refusal(r) == "未办理：案件当前为「已申请（待受理）」，不能办理「转移基金」；" \
            "现在可办理：审核、不予受理、告知补充材料、撤回申请。"
    with _signed_in(site, other) as client:
        r = client.post(f"/cases/{case.id}/fire", data={"trigger": "review",
                                                       "version": str(case.version)})
        assert r.status_code == 403
        assert _refusal(r) == "未办理：「审核」只能由转入地经办人员（440300 深圳市）办理。"
    assert _without_access_log(snapshot(engine)) == _without_access_log(before)


#: The engine's own English refusals (``str(error)``), which no Chinese page may show.
_ENGLISH = re.compile(r"\b(needs|not allowed|allowed|may not|may be fired|must be|business date|"
                      r"case \d+|takes no|is before|information form|explanation|yuan)\b")


def _chinese_refusal(response: httpx.Response, *expected: str) -> str:
    refusal = _refusal(response)
    assert refusal.startswith("未办理：") and not _ENGLISH.search(refusal), refusal
    for part in expected:
        assert part in refusal, (part, refusal)
    return refusal


def test_every_kind_of_refused_step_reads_in_chinese_on_a_chinese_page(engine, site):
    """Issue 21: "Every refusal on a Chinese page is Chinese (today the dashboard falls back to
    the engine's English ``str(exc)`` for many errors): error kinds carry codes and
    parameters, and their words come from message catalogues." Each kind of refusal a step
    can meet through the dashboard -- missing documents, a state that does not allow it, a
    role that may not, a stale page, a step's input missing or malformed, a date the case
    cannot take -- is shown in Chinese, none with the engine's English words; nothing but the
    reads is written."""
    case = open_case(engine, documents=["application_form"])
    clerk, other = _token(engine, "c-12", "clerk", DESTINATION), _token(engine, "o-3", "clerk", ORIGIN)
    before = snapshot(engine)
    with _signed_in(site, clerk) as client:
        def fire(trigger: str, status: int, *expected: str, **fields: str) -> str:
            r = client.post(f"/cases/{case.id}/fire", data={
                "trigger": trigger, "version": str(fields.pop("version", case.version)),
                "confirm": "yes", **fields})  # destructive steps (reject) are confirmed
            assert r.status_code == status, r.text
            return _chinese_refusal(r, *expected)

        fire("review", 422, "「审核」还缺以下材料", "参保缴费凭证")  # missing_documents
        fire("move_funds", 409, "「已申请（待受理）」", "「转移基金」")  # invalid_transition
        fire("reject", 409, "已被他人更新", version=str(case.version - 1),
             explanation="材料不全")  # concurrent_update
        fire("reject", 422, "请填写「说明理由」", explanation=" ")  # invalid_input: needed
        fire("request_documents", 422, "「需补充的材料」")  # invalid_input: needed
        fire("reject", 422, "「办理日期」应为日期", explanation="材料不全", on="26/09/2025")
        fire("reject", 422, "办理日期不能晚于今天", explanation="材料不全", on="2999-01-01")
        fire("reject", 422, "办理日期不能早于本案件上一次办理的日期", explanation="材料不全",
             on="2001-01-01")
    with _signed_in(site, other) as client:
        r = client.post(f"/cases/{case.id}/fire", data={"trigger": "review",
                                                       "version": str(case.version)})
        assert r.status_code == 403  # not_permitted
        _chinese_refusal(r, "只能由转入地经办人员（440300 深圳市）办理")
    assert _without_access_log(snapshot(engine)) == _without_access_log(before)


def test_a_refused_step_reads_in_english_on_an_english_page(engine, site):
    """The same kind of refusal with ``?lang=en`` reads in the English catalogue's words."""
    case = open_case(engine, documents=["application_form"])
    with _signed_in(site, _token(engine, "c-12", "clerk", DESTINATION)) as client:
        r = client.post(f"/cases/{case.id}/fire?lang=en", data={
            "trigger": "reject", "explanation": " ", "version": str(case.version),
            "confirm": "yes"})
        assert r.status_code == 422
        assert _refusal(r) == "Not done: The explanation is needed."


def _refusal(response: httpx.Response) -> str:
    found = re.search(r'<p class="alert" role="alert" id="refusal">(.*?)</p>', response.text)
    assert found, response.text
    return found.group(1)


def test_what_a_user_wrote_is_escaped_on_the_case_page(engine, site):
    """An explanation with markup is shown as text, never as markup."""
    case = open_case(engine)
    with _signed_in(site, _token(engine, "c-12", "clerk", DESTINATION)) as client:
        r = client.post(f"/cases/{case.id}/fire", data={
            "trigger": "reject", "version": str(case.version), "confirm": "yes",
            "explanation": "<script>alert(1)</script>"}, follow_redirects=True)
    assert r.status_code == 200 and engine.get(case.id).state == "rejected"
    assert "<script>alert(1)</script>" not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text


def test_a_supervisor_reads_the_case_but_gets_no_step_buttons(engine, site):
    """A supervisor of the agency reads the case (logged) and is told they take no steps: the
    one button is theirs alone, the correction of a business date."""
    case = open_case(engine)
    with _signed_in(site, _token(engine, "s-1", "supervisor", DESTINATION)) as client:
        page = client.get(f"/cases/{case.id}").text
    assert "主管可查阅案件，但不办理具体事项" in page
    assert re.findall(r"<button[^>]*>([^<]*)</button>", page.split("</header>")[1]) == ["更正办理日期"]
    assert _reads(engine) == [("s-1", case.id, "case", "dashboard")]


def test_the_overdue_board_and_alerts_are_scoped_to_the_agency(engine, site):
    """The board shows the report's chart and summary for the user's agency only; the alerts
    page the alerts its agency's spans raised."""
    open_case(engine)
    open_case(engine, origin=DESTINATION, destination=ORIGIN,  # a span owned by 310000
              person_id=valid_person_id(seed=44))  # (another person's)
    engine.scan()
    with _signed_in(site, _token(engine, "c-12", "clerk", DESTINATION)) as client:
        board = client.get("/overdue").text
        alerts = client.get("/alerts").text
    assert "<svg" in board and "440300 深圳市" in board and "310000 上海市" not in board
    assert "逾期1–5个工作日" in board
    assert "转入地审核" in alerts and "440300 深圳市" in alerts and "310000 上海市" not in alerts


def test_the_overdue_report_downloads_in_the_page_s_language_scoped_to_the_agency(engine, site):
    """CSV, XLSX and HTML download; the CSV has Chinese headers by default and English ones
    after ``?lang=en``; only the user's agency's spans are in it; the reads are logged."""
    mine = open_case(engine)
    open_case(engine, origin=DESTINATION, destination=ORIGIN,  # owned by 310000
              person_id=valid_person_id(seed=44))  # (another person's)
    with _signed_in(site, _token(engine, "c-12", "clerk", DESTINATION)) as client:
        assert "/reports/overdue.xlsx" in client.get("/reports").text
        r = client.get("/reports/overdue.csv")
        assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert rows[0][0] == "经办机构" and [row[1] for row in rows[1:]] == [str(mine.id)]
        assert rows[1][0] == "440300 深圳市" and PERSON_ID not in r.text
        xlsx = client.get("/reports/overdue.xlsx")
        assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
        html = client.get("/reports/overdue.html", params={"lang": "en"})
        assert '<html lang="en">' in html.text and "310000" not in html.text
        rows = list(csv.reader(io.StringIO(
            client.get("/reports/overdue.csv").content.decode("utf-8-sig"))))
        assert rows[0][0] == "owner agency"
    assert ("c-12", mine.id, "report", "dashboard") in _reads(engine)


def test_the_case_page_is_accessible_without_javascript(engine, site):
    """Every form field has a label, every table column a header, no script at all; the
    page prints without the forms (print CSS)."""
    case = open_case(engine, documents=["application_form"])
    with _signed_in(site, _token(engine, "c-12", "clerk", DESTINATION)) as client:
        page = client.get(f"/cases/{case.id}").text
    assert "<script" not in page and "@media print" in page and ":focus-visible" in page
    for field in re.findall(r"<(?:input|textarea)\b[^>]*>", page):
        if 'type="hidden"' in field:
            continue
        if 'type="checkbox"' in field:
            assert re.search(r"<label><input[^>]*" + re.escape(field[len("<input"):]), page), field
            continue
        ident = re.search(r'id="([^"]+)"', field)
        assert ident and f'for="{ident.group(1)}"' in page, field
    for table in re.findall(r"<table>.*?</table>", page, re.S):
        assert '<th scope="col">' in table


def test_the_json_api_does_not_take_the_dashboard_s_sign_in_cookie(engine, site):
    """The cookie a browser sends by itself signs in the dashboard only: the API wants its
    bearer header, so a page of another site cannot use a signed-in clerk's cookie on it."""
    case = open_case(engine)
    with _signed_in(site, _token(engine, "c-12", "clerk", DESTINATION)) as client:
        assert client.get(f"/cases/{case.id}").status_code == 200
        r = client.get(f"/api/v1/cases/{case.id}")
        assert r.status_code == 401 and r.json()["code"] == "not_authenticated"
        r = client.post(f"/api/v1/cases/{case.id}/fire", json={"trigger": "reject",
                                                              "explanation": "x"})
        assert r.status_code == 401
    assert engine.get(case.id).state == "applied"


# --- search (issue 21) -------------------------------------------------------------------------
def _search_rows(engine) -> list[tuple]:
    """The access log's rows written by searches (one row may name many cases)."""
    view = list(snapshot(engine)["access_log"])
    return [row for row in view if "search" in row]


def _found(page: str) -> list[str]:
    """The case numbers listed in a page of search results, in order."""
    table = page[page.index('id="search-results"'):page.index("</table>")]
    return re.findall(r'href="/cases/\d+">(\d+)</a>', table)


def test_a_clerk_finds_a_case_by_the_last_four_digits_of_the_id_number_never_echoed(
        engine, site):
    """Issue 21: "Search: by ... 身份证号 (full or last digits, never echoed unmasked)". The ID
    number is posted with the form token, the answer comes in place (no redirect: the number
    is in no address), lists the person's case with the number masked and leaves the field
    empty; the search writes one access-log entry naming the cases shown."""
    mine = open_case(engine)
    open_case(engine, person_id=OTHER_PERSON_ID, person_name="李四")
    with _signed_in(site, _token(engine, "c-12", "clerk", DESTINATION)) as client:
        for typed in (PERSON_ID[-4:], PERSON_ID, PERSON_ID[-4:].lower()):
            r = client.post("/search", data={"person_id_ending": typed})
            assert r.status_code == 200 and "location" not in r.headers
            assert _found(r.text) == [mine.public_number] and "共1件" in r.text
            assert PERSON_ID not in r.text and "110105********002X" in r.text
            assert 'name="person_id_ending" value=""' in r.text
            assert PERSON_ID not in str(r.url) and "002X" not in str(r.url)
        refused = client.post("/search", data={"person_id_ending": "02X"})
        message = re.search(r'<p class="alert" role="alert" id="refusal">(.*?)</p>',
                            refused.text).group(1)
        assert refused.status_code == 422 and "查询条件有误" in message and "02X" not in message
    rows = _search_rows(engine)
    assert len(rows) == 3  # one entry per search that showed a case, none for the refused one
    assert [r for r in _reads(engine) if r[2] == "search"] == [
        ("c-12", mine.id, "search", "dashboard")] * 3


def test_the_search_filters_sorts_and_pages_with_totals(engine, site, monkeypatch):
    """Issue 21: by case number, 姓名, agency, insurance, state, level and due date range;
    sortable columns; pages with totals ("共 N 件")."""
    from workflow.api import dashboard

    first = open_case(engine, person_name="张三")
    second = open_case(engine, person_id=OTHER_PERSON_ID, person_name="李四",
                       origin="110105")
    third = open_case(engine, "medical_transfer", person_name="张三丰")
    engine.scan(dt.date(2025, 11, 3))  # the pension reviews are overdue then
    monkeypatch.setattr(dashboard, "PAGE_SIZE", 2)
    numbers = {c.id: c.public_number for c in (first, second, third)}
    with _signed_in(site, _token(engine, "c-12", "clerk", DESTINATION)) as client:
        def found(**params) -> list[str]:
            r = client.get("/search", params=params)
            assert r.status_code == 200, r.text
            return _found(r.text) if 'id="search-results"' in r.text else []

        assert found(public_number=second.public_number) == [numbers[second.id]]
        assert found(person_name="张三", sort="opened_on") == [numbers[first.id],
                                                              numbers[third.id]]
        assert found(agency="110105") == [numbers[second.id]]
        assert found(insurance="medical") == [numbers[third.id]]
        assert found(state="applied", insurance="pension", sort="person_name") == [
            numbers[first.id], numbers[second.id]]
        assert found(level="overdue", sort="person_name") == [numbers[first.id],
                                                             numbers[second.id]]
        assert found(due_from="2025-10-23", due_to="2025-10-23", sort="-person_name") == [
            numbers[second.id], numbers[first.id]]
        assert found(due_to="2025-10-22") == []
        # Sorting: a heading's link sorts by it, the same again the other way.
        r = client.get("/search", params={"sort": "person_name"})
        assert '<a href="/search?sort=-person_name">' in r.text
        assert 'aria-sort="ascending"' in r.text
        # Pages of two, with the total.
        r = client.get("/search", params={"sort": "person_name"})
        assert "共3件，显示第1–2件" in r.text and 'rel="next"' in r.text
        assert _found(r.text) == [numbers[first.id], numbers[third.id]]
        r = client.get("/search", params={"sort": "person_name", "page": "2"})
        assert "共3件，显示第3–3件" in r.text and _found(r.text) == [numbers[second.id]]
        r = client.get("/search", params={"due_from": "2025-13-01"})
        assert r.status_code == 422 and "查询条件有误" in r.text
        # Without an ID number the form sends the search on to its own address.
        r = client.post("/search", data={"person_name": "李四", "sort": "-opened_on"})
        assert r.status_code == 303
        assert r.headers["location"] == "/search?person_name=%E6%9D%8E%E5%9B%9B&sort=-opened_on"


def test_the_search_is_scoped_to_the_signed_in_user_like_the_inbox(engine, site):
    """A clerk of another agency finds none of 440300's cases, by name or by ID number (the
    total counts only what they may read), and reads no case; the search page alone reads
    none either."""
    open_case(engine)
    with _signed_in(site, _token(engine, "c-99", "clerk", "110105")) as client:
        assert "共0件" in client.get("/search", params={"person_name": "张"}).text
        r = client.post("/search", data={"person_id_ending": PERSON_ID})
        assert "共0件" in r.text and "张三" not in r.text
    with _signed_in(site, _token(engine, "c-12", "clerk", DESTINATION)) as client:
        assert 'id="search-results"' not in client.get("/search").text
    assert _search_rows(engine) == [] and [r for r in _reads(engine) if r[2] == "search"] == []


def test_a_province_supervisor_s_inbox_is_grouped_by_agency_with_counts(engine, site):
    """Issue 21: "A province supervisor's inbox is grouped by agency": a heading per agency
    (in code order) with its running spans in all; a clerk's inbox has no such headings."""
    open_case(engine)
    open_case(engine, person_id=OTHER_PERSON_ID, person_name="李四")
    open_case(engine, person_name="王五", destination="440100")
    with _signed_in(site, _token(engine, "s-44", "supervisor", province="44")) as client:
        page = client.get("/").text
    guangzhou, shenzhen = page.index("440100 广州市（1个环节）"), page.index("440300 深圳市（2个环节）")
    assert guangzhou < shenzhen
    assert page.index("王五") < shenzhen < page.index("张三") and page.index("李四") > shenzhen
    assert 'id="inbox-440100"' in page and 'id="inbox-440300"' in page
    with _signed_in(site, _token(engine, "c-12", "clerk", DESTINATION)) as client:
        page = client.get("/").text
    assert "个环节）</h2>" not in page and 'id="inbox"' in page


def test_every_alert_level_has_a_word_in_the_search_form():
    """The search form's level choices are the alert levels, each with its Chinese and
    English word (a level added later and not named here would break the page)."""
    from workflow import i18n
    from workflow.core.alerts import ALERT_LEVELS

    for lang in ("zh", "en"):
        assert all(f"search_level_{level}" in i18n.words(lang) for level in ALERT_LEVELS)


def test_a_refused_search_says_in_the_page_s_language_which_filter_is_wrong(engine, site):
    """Issue 21, "Chinese all the way": a search the engine refuses names the filter at
    fault and what is wrong with it, in Chinese (English on request), from the refusal's
    code and parameters, never the engine's English message."""
    refusal = re.compile(r'<p class="alert" role="alert" id="refusal">(.*?)</p>')
    with _signed_in(site, _token(engine, "c-12", "clerk", DESTINATION)) as client:
        for params, said in (
                ({"due_from": "2025-13-01"},
                 "查询条件有误：「办结期限自」应为日期，格式为“年-月-日”，如2025-09-26。"),
                ({"public_number": "12345"},
                 "查询条件有误：「案件编号」应为20位数字的案件编号（含校验位）。"),
                ({"agency": "44030"},
                 "查询条件有误：「经办机构代码」应为6位数字的行政区划代码，如 440300。"),
                ({"level": "urgent"}, "查询条件有误：「预警级别」不是可选的值，请从列表中选择。")):
            r = client.get("/search", params=params)
            assert r.status_code == 422 and html.unescape(refusal.search(r.text).group(1)) == said
        r = client.get("/search", params={"public_number": "12345", "lang": "en"})
        said = html.unescape(refusal.search(r.text).group(1))
        assert r.status_code == 422 and said.startswith("The search was refused: The case number")
        assert not re.search(r"[\u4e00-\u9fff]", said) and "must be a case number" not in said
