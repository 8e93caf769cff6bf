"""The papers: issued by their steps in the step's transaction, numbered without gaps, kept as
issued, read by the two agencies' staff only; and the pension fund rule of 国办发〔2009〕66号
art. 4 that fills the information form."""

from __future__ import annotations

import hashlib
import io
import threading
from decimal import ROUND_HALF_UP, Decimal

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import (
    APPLICANT,
    DEST_CLERK,
    DESTINATION,
    ORIGIN,
    ORIGIN_CLERK,
    SHIPPED,
    call_cli,
    open_case,
    refused,
)
from tests.live import running
from tests.web import Browser
from workflow import CaseNotFound, Engine, InvalidInput, NotPermitted, Principal
from workflow.api import create_app
from workflow.core.funds import check_information_form, parse_period, pension_funds
from workflow.render.papers import render_paper_html, rmb_capitals
from workflow.services.cases import retry_on_conflict

FORM = {"periods": ["1998-01:1999-12:3000.00", "2000-01:2000-07:4000"],
        "personal_account": "23456.78"}


@pytest.fixture
def papers_engine(db_url, schema_copy):
    """An engine on the definitions as shipped: pension_transfer 2 issues papers."""
    with Engine(schema_copy(db_url), definitions=SHIPPED) as e:
        yield e


def _to_funds_moved(engine: Engine):
    case = open_case(engine)
    for trigger in ("review", "send_letter"):
        case = engine.fire(case.id, trigger, actor=DEST_CLERK, on=case.last_event_on)
    return engine.fire(case.id, "move_funds", actor=ORIGIN_CLERK, on=case.last_event_on,
                       information_form=FORM)


# --- the fund rule -------------------------------------------------------------------------
def test_pooled_fund_is_twelve_percent_of_each_years_bases_since_1998():
    """24 months at 3,000 and 7 months at 4,000: 0.12 × (72,000 + 28,000) = 12,000.00;
    with the personal account 23,456.78 the total is 35,456.78 over 31 months."""
    funds = pension_funds([parse_period(p) for p in FORM["periods"]], FORM["personal_account"])
    assert (funds.pooled_fund, funds.total, funds.months) == (
        Decimal("12000.00"), Decimal("35456.78"), 31)
    assert [(r.year, r.months) for r in funds.rows] == [(1998, 12), (1999, 12), (2000, 7)]


def test_months_before_1998_are_counted_but_carry_no_pooled_fund():
    """1995-01 to 1998-06 at 1,000: 42 months counted; only the 6 of 1998 carry 12 %: 720.00."""
    funds = pension_funds([parse_period("1995-01:1998-06:1000")], "0")
    assert (funds.months, funds.pooled_fund) == (42, Decimal("720.00"))
    assert funds.rows[0].pooled == Decimal("0.00")


def test_a_record_that_ends_before_1998_moves_no_pooled_fund():
    """1990-01 to 1997-12 at 800: 96 months counted, every one before 1998: the pooled fund
    is 0.00 and the total is the personal account alone (5,000.00)."""
    funds = pension_funds([parse_period("1990-01:1997-12:800")], "5000")
    assert (funds.months, funds.pooled_fund, funds.total) == (96, Decimal("0.00"),
                                                              Decimal("5000.00"))


def test_a_base_change_mid_year_gives_two_rows_of_that_year():
    """2010-01..2010-05 at 2,000 and 2010-06..2010-12 at 2,500: two rows for 2010;
    0.12 × (10,000 + 17,500) = 3,300.00."""
    funds = pension_funds([parse_period("2010-01:2010-05:2000"),
                           parse_period("2010-06:2010-12:2500")], "0")
    assert [(r.year, r.months) for r in funds.rows] == [(2010, 5), (2010, 7)]
    assert funds.pooled_fund == Decimal("3300.00")


def test_the_pooled_fund_is_rounded_once_half_up_to_the_fen():
    """One month at 0.125 × ... : 1 month at 3,000.04 → 0.12 × 3,000.04 = 360.0048 → 360.00;
    3 months at 1,000.05 → 0.12 × 3,000.15 = 360.018 → 360.02."""
    assert pension_funds([parse_period("2001-01:2001-01:3000.04")], 0).pooled_fund == \
        Decimal("360.00")
    assert pension_funds([parse_period("2001-01:2001-03:1000.05")], 0).pooled_fund == \
        Decimal("360.02")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1990, 2024), st.integers(1, 24),
                          st.integers(100, 5_000_000)), min_size=1, max_size=4))
def test_property_pooled_fund_is_twelve_percent_of_months_times_base(parts):
    """For any record, pooled = (0.12 × Σ months × base over months from 1998), rounded half
    up to the fen, and total = personal account + pooled."""
    periods, year = [], 1990
    for start, length, fen in parts:
        year = max(year, start)
        end_month = min(length, 12)
        periods.append(parse_period(f"{year}-01:{year}-{end_month:02d}:{Decimal(fen) / 100}"))
        year += 1
    if year > 2026:
        return
    funds = pension_funds(periods, "1.00")
    exact = sum((Decimal("0.12") * len([m for m in p.months() if m[0] >= 1998]) * p.monthly_base
                 for p in periods), Decimal(0))
    assert funds.pooled_fund == exact.quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert funds.total == funds.pooled_fund + Decimal("1.00")


def test_overlapping_periods_and_bad_periods_are_refused_in_the_users_terms():
    """Two periods sharing a month are refused naming both; 13 is no month."""
    with pytest.raises(InvalidInput, match="overlap"):
        check_information_form("pension", {"periods": ["2000-01:2000-12:1", "2000-06:2001-01:1"],
                                           "personal_account": "0"})
    with pytest.raises(InvalidInput, match="not a month"):
        parse_period("2000-13:2001-01:100")
    with pytest.raises(InvalidInput, match="has no extra"):
        check_information_form("medical", {"personal_account": "1", "months_actual": 1,
                                           "extra": 1})


@pytest.mark.parametrize(("amount", "words"), [
    ("0.05", "伍分"), ("10.00", "壹拾元整"), ("100000.01", "壹拾万元零壹分"),
    ("1000000000.00", "壹拾亿元整")])
def test_amounts_are_printed_in_capital_numerals(amount, words):
    """The capitals of awkward amounts, as cn2an's RMB mode writes them."""
    assert rmb_capitals(Decimal(amount)) == words


# --- issuing -------------------------------------------------------------------------------
def test_the_steps_issue_their_papers_numbered_per_agency_kind_and_year(papers_engine):
    """send_letter issues the destination's contact letter, move_funds the origin's
    information form (amount = its total), continue_relationship the completion notice with
    the cumulative months (the form's 31 plus 12 at the destination)."""
    case = _to_funds_moved(papers_engine)
    assert case.amount == Decimal("35456.78") and case.contribution_months == 31
    case = papers_engine.fire(case.id, "continue_relationship", actor=DEST_CLERK,
                              on=case.last_event_on, months_at_destination=12)
    assert case.contribution_months == 43
    papers = papers_engine.papers(case.id)
    assert [(p.kind, p.agency, p.seq) for p in papers] == [
        ("contact_letter", DESTINATION, 1), ("information_form", ORIGIN, 1),
        ("completion_notice", DESTINATION, 1)]
    year = papers[0].year
    assert papers[0].number == f"〔{year}〕{DESTINATION}养转函第000001号"
    html = papers_engine.render_paper(papers[1].id, "html")
    assert hashlib.sha256(html).hexdigest() == papers[1].sha256
    assert "35,456.78" in html.decode() and "叁万伍仟肆佰伍拾陆元柒角捌分" in html.decode()


def test_an_amount_beside_the_form_must_be_its_total_and_a_refused_step_takes_no_number(
        papers_engine):
    """A wrong amount is refused naming both figures; nothing is written, no number taken:
    the next good step's form is number 1."""
    case = open_case(papers_engine)
    for trigger in ("review", "send_letter"):
        case = papers_engine.fire(case.id, trigger, actor=DEST_CLERK, on=case.last_event_on)
    error = refused(papers_engine, InvalidInput, papers_engine.fire, case.id, "move_funds",
                    actor=ORIGIN_CLERK, on=case.last_event_on, information_form=FORM,
                    amount="35456.79")
    assert "35456.79" in str(error) and "35456.78" in str(error)
    papers_engine.fire(case.id, "move_funds", actor=ORIGIN_CLERK, on=case.last_event_on,
                       information_form=FORM, amount="35456.78")
    assert [p.seq for p in papers_engine.papers(case.id) if p.kind == "information_form"] == [1]


def test_a_refusal_and_a_request_for_documents_are_written_to_the_person(papers_engine):
    """request_documents issues the one-time notice listing each document by its Chinese
    name; reject issues the written explanation with its reason."""
    case = open_case(papers_engine)
    case = papers_engine.fire(case.id, "request_documents", actor=DEST_CLERK,
                              on=case.last_event_on, documents_needed=["id_card"])
    notice = papers_engine.papers(case.id)[0]
    assert notice.kind == "one_time_notice"
    assert "居民身份证原件及复印件" in papers_engine.render_paper(notice.id, "html").decode()
    other = open_case(papers_engine)
    papers_engine.fire(other.id, "reject", actor=DEST_CLERK, on=other.last_event_on,
                       explanation="<script>x</script> 缴费凭证不符")
    paper = papers_engine.papers(other.id)[0]
    page = papers_engine.render_paper(paper.id, "html").decode()
    assert paper.kind == "refusal_explanation" and "&lt;script&gt;" in page
    assert "<script>x" not in page


def test_a_correction_is_a_new_paper_naming_the_one_it_replaces(papers_engine):
    """The corrected letter (issued today) has a number of its own and names the first; the
    first is kept as issued; a paper is corrected once."""
    case = open_case(papers_engine)
    for trigger in ("review", "send_letter"):
        case = papers_engine.fire(case.id, trigger, actor=DEST_CLERK, on=case.last_event_on)
    first = papers_engine.papers(case.id)[0]
    before = papers_engine.render_paper(first.id, "html")
    new = papers_engine.correct_paper(first.id, actor=DEST_CLERK, reason="地址有误")
    assert new.replaces == first.id and new.number != first.number
    assert first.number in papers_engine.render_paper(new.id, "html").decode()
    assert papers_engine.render_paper(first.id, "html") == before
    with pytest.raises(InvalidInput, match="corrected already"):
        papers_engine.correct_paper(first.id, actor=DEST_CLERK, reason="again")
    with pytest.raises(NotPermitted):
        papers_engine.correct_paper(new.id, actor=ORIGIN_CLERK, reason="not theirs")


def test_papers_are_read_by_the_two_agencies_staff_only_and_each_read_is_logged(papers_engine):
    """The applicant may not read the papers (403); to a clerk of a third agency the case is
    not there (404); a clerk of the case's agency reads them, and the read is logged."""
    case = _to_funds_moved(papers_engine)
    applicant = papers_engine.desk(Principal(APPLICANT.id, "employer"))
    with pytest.raises(NotPermitted):
        applicant.papers(case.id)
    with pytest.raises(CaseNotFound):
        papers_engine.desk(Principal("x", "clerk", agency="110101")).papers(case.id)
    clerk = papers_engine.desk(Principal("c-12", "clerk", agency=DESTINATION))
    _paper, body = clerk.print_paper(clerk.papers(case.id)[1].id, "pdf")
    assert body.startswith(b"%PDF")
    supervisor = papers_engine.desk(Principal("s", "supervisor", agency=DESTINATION))
    views = [(e.actor_id, e.view) for e in supervisor.access_log(case_id=case.id)]
    assert ("c-12", "papers") in views and ("c-12", "paper") in views


def test_the_pdf_has_the_name_the_agencies_the_number_and_the_capitals(papers_engine):
    """The information form's PDF text (fonts embedded) names the person, both agencies, its
    number and the total in capitals."""
    from pypdf import PdfReader

    case = _to_funds_moved(papers_engine)
    form = papers_engine.papers(case.id)[1]
    text = "".join(page.extract_text() for page in
                   PdfReader(io.BytesIO(papers_engine.render_paper(form.id, "pdf"))).pages)
    text = text.replace("\n", "").replace(" ", "")
    for expected in ("张三", "社会保险经办机构", form.number, "叁万伍仟肆佰伍拾陆元柒角捌分"):
        assert expected in text


def test_numbers_have_no_gap_and_no_duplicate_when_clerks_race(papers_engine):
    """Eight clerks sending letters at once from one agency get numbers 1 to 8."""
    cases = [open_case(papers_engine) for _ in range(8)]
    for c in cases:
        papers_engine.fire(c.id, "review", actor=DEST_CLERK, on=c.last_event_on)

    def send(case_id: int) -> None:
        retry_on_conflict(lambda: papers_engine.fire(case_id, "send_letter", actor=DEST_CLERK),
                          attempts=20)

    threads = [threading.Thread(target=send, args=(c.id,)) for c in cases]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seqs = sorted(p.seq for c in cases for p in papers_engine.papers(c.id))
    assert seqs == list(range(1, 9))


def _send_letter_in_a_process(url: str, case_id: int, start_at: float) -> list[int]:
    """A separate process: its own engine on the shared database sends one case's letter at
    ``start_at`` (a wall-clock time shared by all, so that they race)."""
    import time

    with Engine(url, definitions=SHIPPED) as engine:
        engine.get(case_id)  # connected and warmed up before the start
        time.sleep(max(0.0, start_at - time.time()))
        retry_on_conflict(lambda: engine.fire(case_id, "send_letter", actor=DEST_CLERK),
                          attempts=50)
        return [p.seq for p in engine.papers(case_id)]


def test_numbers_have_no_gap_and_no_duplicate_when_processes_race(papers_engine, db_url):
    """Four processes, each with its own engine and connections, send letters of one agency
    at once: the letters are numbered 1 to 4, whichever commits first."""
    import multiprocessing
    import time

    cases = [open_case(papers_engine) for _ in range(4)]
    for c in cases:
        papers_engine.fire(c.id, "review", actor=DEST_CLERK, on=c.last_event_on)
    start_at = time.time() + 10  # every process has started and connected by then
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        seqs = pool.starmap(_send_letter_in_a_process,
                            [(db_url, c.id, start_at) for c in cases])
    assert sorted(s for found in seqs for s in found) == [1, 2, 3, 4]


def test_cases_on_the_versions_before_the_papers_issue_none(engine):
    """pension_transfer 1 (the suite's default folder) takes a bare amount and issues no paper."""
    case = open_case(engine)
    assert case.definition_version == 1
    for trigger in ("review", "send_letter"):
        case = engine.fire(case.id, trigger, actor=DEST_CLERK, on=case.last_event_on)
    assert engine.papers(case.id) == []


def test_the_html_of_a_paper_is_the_same_for_the_same_content():
    """Printing is deterministic: the kept SHA-256 identifies the text."""
    content = {"kind": "completion_notice", "title": "办结通知", "number": "N1",
               "issued_on": "2026-12-02", "insurance": "pension", "case_id": 1,
               "person": {"name": "张三", "id_number": "11010519491231002X"},
               "issuer": {"code": "440300", "name": "甲"}, "origin": {"code": "1", "name": "乙"},
               "destination": {"code": "2", "name": "丙"}, "clerk": "c", "replaces": None,
               "addressee": "insured", "months": 43}
    assert render_paper_html(content) == render_paper_html(dict(content))
    assert "2026年12月2日" in render_paper_html(content)


def test_the_api_lists_and_prints_a_cases_papers_and_logs_each_read(papers_engine):
    """GET /api/v1/cases/{id}/papers gives id, kind, number, issued_on, sha256 and title;
    GET /api/v1/papers/{id}?format=html gives the kept HTML; each is a read in the log; the
    applicant's token is refused."""
    case = _to_funds_moved(papers_engine)
    token, _ = papers_engine.access_service.create_token("c-12", "clerk", DESTINATION)
    own, _ = papers_engine.access_service.create_token(APPLICANT.id, "employer")
    with running(create_app(papers_engine)) as site, httpx.Client(base_url=site, timeout=60) as client:
        auth = {"Authorization": f"Bearer {token}"}
        items = client.get(f"/api/v1/cases/{case.id}/papers", headers=auth).json()["items"]
        assert {"id", "kind", "number", "issued_on", "sha256", "title"} <= set(items[1])
        before = len(papers_engine.access_service.store.access_log(limit=1000))
        page = client.get(f"/api/v1/papers/{items[1]['id']}", params={"format": "html"},
                          headers=auth)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert hashlib.sha256(page.content).hexdigest() == items[1]["sha256"]
        assert len(papers_engine.access_service.store.access_log(limit=1000)) > before
        denied = client.get(f"/api/v1/cases/{case.id}/papers",
                            headers={"Authorization": f"Bearer {own}"})
        assert denied.status_code == 403


def test_the_fund_calculator_prints_the_figures_as_json(run):
    """`sstransfer funds pension --json` prints the money as two-decimal strings: 96 months at
    3,000.00 and 234 at 5,800 give 0.12 × (288,000 + 1,357,200) = 197,424.00."""
    import json

    done = run("funds", "pension", "--period", "1998-01:2005-12:3000.00", "--period",
               "2006-01:2025-06:5800", "--personal-account", "23456.78", "--json")
    assert json.loads(done.stdout) == {"personal_account": "23456.78", "pooled_fund": "197424.00",
                                       "total": "220880.78", "months": 330}


def test_the_dashboard_takes_the_information_form_lists_the_papers_and_prints_them(papers_engine):
    """On the case page the origin clerk fills in the information form (one period a line)
    and moves the funds; the papers table names each paper with its number and prints the
    kept HTML (inline) or the PDF (a download), each printing a read in the access log; a
    paper of another case is 404."""
    case = open_case(papers_engine)
    for trigger in ("review", "send_letter"):
        case = papers_engine.fire(case.id, trigger, actor=DEST_CLERK, on=case.last_event_on)
    token, _ = papers_engine.access_service.create_token("o-3", "clerk", ORIGIN)
    with running(create_app(papers_engine)) as site, Browser(base_url=site) as client:
        assert client.post("/login", data={"token": token, "next": "/"}).status_code == 303
        page = client.get(f"/cases/{case.id}").text
        assert 'name="periods"' in page and 'name="personal_account"' in page
        done = client.post(f"/cases/{case.id}/fire", data={
            "trigger": "move_funds", "version": str(case.version),
            "periods": "\n".join(FORM["periods"]) + "\n",
            "personal_account": FORM["personal_account"], "on": str(case.last_event_on)})
        assert done.status_code == 303, done.text
        assert papers_engine.get(case.id).amount == Decimal("35456.78")
        letter, form = papers_engine.papers(case.id)
        page = client.get(f"/cases/{case.id}").text
        assert "联系函" in page and form.number in page and letter.number in page
        before = len(papers_engine.access_service.store.access_log(limit=1000))
        html = client.get(f"/cases/{case.id}/papers/{form.id}.html")
        assert html.headers["content-disposition"].startswith("inline")
        assert hashlib.sha256(html.content).hexdigest() == form.sha256
        pdf = client.get(f"/cases/{case.id}/papers/{form.id}.pdf")
        assert pdf.content.startswith(b"%PDF") and "attachment" in pdf.headers[
            "content-disposition"]
        views = [e.view for e in papers_engine.access_service.store.access_log(limit=1000)]
        assert views[:len(views) - before] == ["paper", "paper"]
        other = open_case(papers_engine, person_id="110108198001010015")
        assert client.get(f"/cases/{other.id}/papers/{form.id}.html").status_code == 404


def test_the_cli_lists_and_prints_papers_and_logs_each_read_under_the_users_login(
        papers_engine, db_url, tmp_path):
    """`sstransfer papers list CASE_ID` and `papers print PAPER_ID --format html --out FILE`:
    the file is the kept HTML, and each is a read in the access log by the machine's user
    (role operator, via cli): the CLI holds no token, the login is who read it."""
    import getpass

    case = _to_funds_moved(papers_engine)
    form = papers_engine.papers(case.id)[1]
    env = {"SSTRANSFER_DATABASE_URL": db_url, "SSTRANSFER_DEFINITIONS": str(SHIPPED),
           "COLUMNS": "200"}
    listed = call_cli("papers", "list", str(case.id), env=env, cwd=tmp_path)
    assert listed.returncode == 0 and form.number in listed.stdout, listed.stderr
    printed = call_cli("papers", "print", str(form.id), "--format", "html", "--out", "f.html",
                       env=env, cwd=tmp_path)
    assert printed.returncode == 0, printed.stderr
    assert hashlib.sha256((tmp_path / "f.html").read_bytes()).hexdigest() == form.sha256
    reads = [(e.actor_id, e.role, e.case_id, e.view, e.via)
             for e in papers_engine.access_service.store.access_log(limit=10)]
    assert reads[:2] == [(getpass.getuser(), "operator", case.id, "paper", "cli"),
                         (getpass.getuser(), "operator", case.id, "papers", "cli")]
