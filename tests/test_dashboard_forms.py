"""The dashboard's forms beyond the steps (issue 21): registering an application, attaching
documents, correcting a business date (supervisors), printing the papers, and the steps that
end a transfer undone shown apart and confirmed. Driven over HTTP against a running server,
on SQLite and PostgreSQL; every refusal is Chinese and writes nothing."""

from __future__ import annotations

import datetime as dt
import re

import httpx
import pytest

from tests.conftest import DESTINATION, ORIGIN, PERSON_ID, RECEIVED, full_documents, open_case, snapshot
from tests.test_dashboard import _reads, _signed_in, _token, _without_access_log
from workflow.core.inputs import mask_person_id
from workflow.loading import DefinitionSet

OTHER_AGENCY = "110105"


@pytest.fixture
def site(engine):
    from tests.live import running
    from workflow.api import create_app

    with running(create_app(engine)) as url:
        yield url


def _alert(response: httpx.Response, ident: str = "refusal") -> str:
    found = re.search(rf'role="alert" id="{ident}">(.*?)</(?:p|div)>', response.text, re.S)
    assert found, response.text
    return found.group(1)


def _field_error(response: httpx.Response, name: str) -> str:
    found = re.search(rf'<p class="field-error" id="{name}-error">(.*?)</p>', response.text)
    assert found, (name, response.text)
    return found.group(1)


def _application(**overrides: object) -> dict[str, object]:
    form: dict[str, object] = {
        "definition": "pension_transfer", "person_id": PERSON_ID, "person_name": "张三",
        "applicant": "employer", "channel": "counter", "origin": ORIGIN,
        "destination": DESTINATION, "on": str(RECEIVED),
        "documents": full_documents("pension_transfer")}
    form.update(overrides)
    return form


# --- registering an application ----------------------------------------------------------------
def test_a_clerk_registers_an_application_and_lands_on_the_new_case_s_page(engine, site):
    """"Register an application (open a case) from the dashboard": the form puts the clerk's
    own agency where the definition lets it take the application (pension: the destination),
    offers the definition's documents; posted, it opens the case as the destination clerk and
    goes to the new case's page, which says the application is registered."""
    with _signed_in(site, _token(engine, "c-12", "clerk", DESTINATION)) as client:
        form = client.get("/cases/new", params={"definition": "pension_transfer"})
        assert form.status_code == 200 and "登记转移接续申请" in form.text
        assert f'name="destination" value="{DESTINATION}"' in form.text
        assert 'name="origin" value=""' in form.text
        assert 'value="payment_voucher"' in form.text and "参保缴费凭证" in form.text
        assert "<script" not in form.text
        for field in re.findall(r"<(?:input|select|textarea)\b[^>]*>", form.text):
            if 'type="hidden"' not in field and 'type="checkbox"' not in field:
                ident = re.search(r'id="([^"]+)"', field)
                assert ident and f'for="{ident.group(1)}"' in form.text, field
        r = client.post("/cases/new", data=_application())
        assert r.status_code == 303, r.text
        case_id = int(re.fullmatch(r"/cases/(\d+)\?done=open", r.headers["location"]).group(1))
        page = client.get(r.headers["location"]).text
    assert 'role="status"' in page and "申请已登记" in page and PERSON_ID not in page
    case = engine.get(case_id)
    assert (case.person_id, case.person_name, case.origin, case.destination, case.applicant) == (
        PERSON_ID, "张三", ORIGIN, DESTINATION, "employer")
    assert case.opened_on == RECEIVED and set(case.documents) == set(full_documents("pension_transfer"))
    opening = engine.history(case_id)[0]
    assert (opening.actor_id, opening.actor_role, opening.actor_agency) == (
        "c-12", "destination_clerk", DESTINATION)


def test_a_medical_application_asks_for_the_scheme_at_each_end(engine, site):
    """A medical definition that records the insurance scheme at each end (43号) shows both
    choices, required; registered with them, the case keeps them."""
    with _signed_in(site, _token(engine, "c-12", "clerk", DESTINATION)) as client:
        form = client.get("/cases/new", params={"definition": "medical_transfer"}).text
        assert '<select id="origin_scheme" name="origin_scheme" required' in form
        assert "职工基本医疗保险" in form and "城乡居民基本医疗保险" in form
        r = client.post("/cases/new", data=_application(
            definition="medical_transfer", documents=full_documents("medical_transfer"),
            origin_scheme="urban_employee", destination_scheme="urban_rural_resident"))
        assert r.status_code == 303, r.text
    case = engine.get(int(r.headers["location"].split("/")[2].split("?")[0]))
    assert (case.definition, case.origin_scheme, case.destination_scheme) == (
        "medical_transfer", "urban_employee", "urban_rural_resident")


def test_a_refused_application_writes_nothing_shows_chinese_errors_and_keeps_the_values(
        engine, site):
    """Bad fields come back (422) with a Chinese error beside each one and a summary, the other
    values kept as typed; the ID number is never sent back: an invalid one not at all, a
    valid one only masked, to be typed again. Nothing is written but the reads."""
    with _signed_in(site, _token(engine, "c-12", "clerk", DESTINATION)) as client:
        client.get("/cases/new")
        before = snapshot(engine)
        wrong_id = PERSON_ID[:-1] + "1"
        r = client.post("/cases/new", data=_application(
            person_id=wrong_id, person_name="", origin="999999", channel="fax"))
        assert r.status_code == 422 and "申请未登记，请按提示修改" in _alert(r, "errors")
        assert _field_error(r, "person_id").startswith("身份证号码无效")
        assert _field_error(r, "person_name") == "请填写姓名。"
        assert _field_error(r, "origin") == "「999999」不是在用的行政区划代码（6位数字，如 440300）。"
        assert _field_error(r, "channel") == "请选择申请渠道。"
        assert wrong_id not in r.text and "person_id-masked" not in r.text
        assert 'name="origin" value="999999"' in r.text and 'value="payment_voucher" checked' in r.text
        r = client.post("/cases/new", data=_application(origin=DESTINATION, person_name="李四"))
        assert r.status_code == 422
        assert _field_error(r, "destination") == "转出地与转入地不能相同：转移接续须跨统筹地区。"
        assert PERSON_ID not in r.text and mask_person_id(PERSON_ID) in r.text
        assert 'name="person_id" value=""' in r.text and 'name="person_name" value="李四"' in r.text
    assert _without_access_log(snapshot(engine)) == _without_access_log(before)


def test_a_clerk_of_another_agency_may_not_register_an_application_between_two_others(
        engine, site):
    """A clerk of 110105 cannot open a case from 310000 to 440300: refused (403) in Chinese,
    naming who may; a supervisor is not shown the form. Nothing is written."""
    clerk, supervisor = (_token(engine, "c-99", "clerk", OTHER_AGENCY),
                         _token(engine, "s-1", "supervisor", DESTINATION))
    before = snapshot(engine)
    with _signed_in(site, clerk) as client:
        r = client.post("/cases/new", data=_application())
        assert r.status_code == 403
        assert _alert(r) == "申请未登记：只能由用人单位或转入地经办人员（440300 深圳市）登记此申请。"
        assert PERSON_ID not in r.text
    with _signed_in(site, supervisor) as client:
        assert "/cases/new" not in client.get("/").text
        r = client.get("/cases/new")
        assert r.status_code == 403 and "主管不登记申请" in r.text
        assert client.post("/cases/new", data=_application()).status_code == 403
    assert _without_access_log(snapshot(engine)) == _without_access_log(before)
    assert engine.cases() == []


# --- attaching documents -----------------------------------------------------------------------
def test_a_clerk_attaches_the_documents_a_case_lacks_from_its_page(engine, site):
    """The case page offers the application documents the case does not hold, as checkboxes;
    ticked and posted, the case holds them and the timeline names the clerk."""
    case = open_case(engine, documents=["application_form"])
    with _signed_in(site, _token(engine, "c-12", "clerk", DESTINATION)) as client:
        page = client.get(f"/cases/{case.id}").text
        offered = re.search(r'action="/cases/\d+/documents".*?</form>', page, re.S).group(0)
        assert re.findall(r'name="documents" value="([^"]+)"', offered) == [
            "payment_voucher", "endowment_manual", "employment_certificate", "id_card"]
        r = client.post(f"/cases/{case.id}/documents", data={
            "documents": ["payment_voucher", "id_card"], "version": str(case.version)})
        assert r.status_code == 303 and r.headers["location"] == f"/cases/{case.id}?done=attach"
        assert "材料已添加" in client.get(r.headers["location"]).text
    assert {"payment_voucher", "id_card"} <= set(engine.get(case.id).documents)
    last = engine.history(case.id)[-1]
    assert (last.trigger, last.actor_id) == ("attach_documents", "c-12")


def test_attaching_nothing_or_to_another_agency_s_case_is_refused_and_writes_nothing(
        engine, site):
    """No document ticked: 422 with the Chinese message; a clerk of another agency: 404 as
    for a case that does not exist (the attempt in the access log). Nothing else written."""
    case = open_case(engine, documents=["application_form"])
    clerk, other = (_token(engine, "c-12", "clerk", DESTINATION),
                    _token(engine, "c-99", "clerk", OTHER_AGENCY))
    before = snapshot(engine)
    with _signed_in(site, clerk) as client:
        r = client.post(f"/cases/{case.id}/documents", data={"version": str(case.version)})
        assert r.status_code == 422 and _alert(r) == "请至少勾选一份材料。"
    with _signed_in(site, other) as client:
        r = client.post(f"/cases/{case.id}/documents", data={
            "documents": ["payment_voucher"], "version": str(case.version)})
        assert r.status_code == 404 and "张三" not in r.text
    assert _without_access_log(snapshot(engine)) == _without_access_log(before)
    assert ("c-99", case.id, "case (denied)", "dashboard") in _reads(engine)


# --- correcting a business date ----------------------------------------------------------------
def test_a_supervisor_corrects_the_business_date_of_the_last_step_with_a_reason(engine, site):
    """A supervisor of the case's agency sees the correction form (the reason ``required``),
    naming the step it corrects; posted with a reason, the step is dated anew and the review
    span starts from the new date."""
    case = open_case(engine)
    new_date = RECEIVED + dt.timedelta(days=3)
    with _signed_in(site, _token(engine, "s-1", "supervisor", DESTINATION)) as client:
        page = client.get(f"/cases/{case.id}").text
        assert "更正最后一个办理环节（提出申请，2025年9月26日）的办理日期" in page
        assert '<textarea id="correct-reason" name="reason" rows="2" required>' in page
        r = client.post(f"/cases/{case.id}/business-date", data={
            "on": str(new_date), "reason": "收件日期录入错误", "version": str(case.version)})
        assert r.status_code == 303, r.text
        assert "办理日期已更正" in client.get(r.headers["location"]).text
    assert engine.history(case.id)[0].business_date == new_date
    assert engine.spans(case.id)[0].started_on == new_date


def test_a_date_correction_without_a_reason_or_by_a_clerk_is_refused_and_writes_nothing(
        engine, site):
    """No reason: 422 in Chinese; a clerk (who is not shown the form): 403 naming the
    supervisors who may; a supervisor of another agency: 404. The case is as it was."""
    case = open_case(engine)
    form = {"on": str(RECEIVED + dt.timedelta(days=3)), "version": str(case.version)}
    supervisor, clerk, other = (_token(engine, "s-1", "supervisor", DESTINATION),
                                _token(engine, "c-12", "clerk", DESTINATION),
                                _token(engine, "s-9", "supervisor", OTHER_AGENCY))
    before = snapshot(engine)
    with _signed_in(site, supervisor) as client:
        r = client.post(f"/cases/{case.id}/business-date", data={**form, "reason": "  "})
        assert r.status_code == 422 and _alert(r) == "请填写更正理由。"
        r = client.post(f"/cases/{case.id}/business-date", data={**form, "on": "2025/09/29",
                                                               "reason": "录入错误"})
        assert r.status_code == 422 and _alert(r).startswith("日期应写作")
    with _signed_in(site, clerk) as client:
        assert "/business-date" not in client.get(f"/cases/{case.id}").text
        r = client.post(f"/cases/{case.id}/business-date", data={**form, "reason": "录入错误"})
        assert r.status_code == 403 and _alert(r) == (
            "未办理：「更正办理日期」只能由主管（310000 上海市）或主管（440300 深圳市）办理。")
    with _signed_in(site, other) as client:
        r = client.post(f"/cases/{case.id}/business-date", data={**form, "reason": "录入错误"})
        assert r.status_code == 404
    assert _without_access_log(snapshot(engine)) == _without_access_log(before)


# --- steps that end the transfer undone ---------------------------------------------------------
def test_every_shipped_definition_marks_refusal_and_withdrawal_destructive_outside_the_hash():
    """不予受理 and 撤回申请 end a transfer (or a card application) undone: each shipped
    version marks those it has ``destructive`` and no other step; the flag is presentation only
    (the content hash of a version with it equals the hash without it)."""
    from workflow.core.definitions import parse_definition

    for d in DefinitionSet():
        ending = [t for t in ("reject", "withdraw") if t in d.triggers]
        assert ending and [t for t in d.triggers if d.destructive(t)] == ending, d.key
        plain = parse_definition(d.path, d.catalogue, d.source.replace("    destructive: true\n", ""))
        assert not plain.destructive("reject") and plain.content_hash == d.content_hash


def test_a_destructive_step_is_shown_apart_and_needs_its_confirmation(engine, site):
    """不予受理 is in the danger style with a ``required`` reason and a ``required``
    confirmation checkbox (no script needed); posted without the confirmation it is refused
    (422, Chinese) and writes nothing; confirmed, it is taken."""
    case = open_case(engine)
    with _signed_in(site, _token(engine, "c-12", "clerk", DESTINATION)) as client:
        page = client.get(f"/cases/{case.id}").text
        reject = re.search(r'<form [^>]*aria-labelledby="step-reject" class="danger">.*?</form>',
                           page, re.S).group(0)
        assert '<textarea id="reject-explanation" name="explanation" rows="3" required>' in reject
        assert '<input type="checkbox" name="confirm" value="yes" required>' in reject
        assert "确认办理「不予受理」" in reject and 'class="danger">不予受理</button>' in reject
        review = re.search(r'<form [^>]*aria-labelledby="step-review">.*?</form>', page, re.S)
        assert review and "confirm" not in review.group(0)
        before = snapshot(engine)
        r = client.post(f"/cases/{case.id}/fire", data={
            "trigger": "reject", "explanation": "不符合条件", "version": str(case.version)})
        assert r.status_code == 422 and _alert(r) == "未办理：「不予受理」须先勾选确认。"
        assert _without_access_log(snapshot(engine)) == _without_access_log(before)
        r = client.post(f"/cases/{case.id}/fire", data={
            "trigger": "reject", "explanation": "不符合条件", "version": str(case.version),
            "confirm": "yes"})
        assert r.status_code == 303
    assert engine.get(case.id).state == "rejected"


# --- printing the papers -----------------------------------------------------------------------
def test_the_case_page_prints_each_paper_for_the_case_s_agencies_only(db_url, schema_copy):
    """"Print the case's papers": the papers section gives each paper a print link (its kept
    HTML, inline, in a new tab) and its PDF; a clerk of the case's agency prints it, a clerk of
    another agency gets 404 as for a paper that does not exist."""
    from tests.conftest import DEST_CLERK, SHIPPED
    from tests.live import running
    from workflow import Engine
    from workflow.api import create_app

    with Engine(schema_copy(db_url), definitions=SHIPPED) as engine, \
            running(create_app(engine)) as url:
        case = open_case(engine)
        case = engine.fire(case.id, "review", actor=DEST_CLERK, on=RECEIVED)
        case = engine.fire(case.id, "send_letter", actor=DEST_CLERK, on=RECEIVED)
        [letter] = engine.papers(case.id)
        clerk, other = (_token(engine, "c-12", "clerk", DESTINATION),
                        _token(engine, "c-99", "clerk", OTHER_AGENCY))
        with _signed_in(url, clerk) as client:
            page = client.get(f"/cases/{case.id}").text
            link = f'href="/cases/{case.id}/papers/{letter.id}.html" target="_blank"'
            assert link in page and f"/papers/{letter.id}.pdf" in page and letter.number in page
            printed = client.get(f"/cases/{case.id}/papers/{letter.id}.html")
            assert printed.status_code == 200 and "联系函" in printed.text
            assert printed.headers["content-disposition"].startswith("inline")
        with _signed_in(url, other) as client:
            r = client.get(f"/cases/{case.id}/papers/{letter.id}.html")
            assert r.status_code == 404 and letter.number not in r.text


# --- the engine's refusals, in the page's language (issue 21, "Chinese all the way") -----------
def test_an_application_the_engine_refuses_is_refused_in_the_page_s_language_not_english(
        engine, site):
    """A form whose fields pass the page's checks but which the engine refuses (a business
    date before the earliest the service records) is worded from the refusal's code and
    parameters, "Chinese all the way": Chinese by default, English on request, never the
    engine's English message; nothing is written."""
    clerk = _token(engine, "c-12", "clerk", DESTINATION)
    before = snapshot(engine)
    with _signed_in(site, clerk) as client:
        client.get("/cases/new")
        r = client.post("/cases/new", data=_application(on="1985-12-31"))
        assert r.status_code == 422
        assert _alert(r) == "申请未登记：办理日期不能早于本系统登记的最早日期（1986年1月1日）。"
        r = client.post("/cases/new?lang=en", data=_application(on="1985-12-31"))
        said = _alert(r)
        assert r.status_code == 422 and said.startswith("Not registered: ")
        assert "1986-01-01" in said and "earliest_business_date" not in said
        assert not re.search(r"[\u4e00-\u9fff]", said)
    assert _without_access_log(snapshot(engine)) == _without_access_log(before)


def test_a_date_correction_the_engine_refuses_is_refused_in_chinese(engine, site):
    """A corrected business date after today is refused by the engine (422) in Chinese words
    of its code and reason, not "business date ... is after today"; the case is as it was."""
    case = open_case(engine)
    supervisor = _token(engine, "s-1", "supervisor", DESTINATION)
    before = snapshot(engine)
    ahead = dt.date.today() + dt.timedelta(days=5)
    with _signed_in(site, supervisor) as client:
        r = client.post(f"/cases/{case.id}/business-date", data={
            "on": str(ahead), "reason": "录入错误", "version": str(case.version)})
        assert r.status_code == 422
        assert _alert(r) == "未办理：办理日期不能晚于今天：请按实际办理的日期登记。"
    assert _without_access_log(snapshot(engine)) == _without_access_log(before)


def test_a_second_running_transfer_of_one_person_is_refused_in_chinese_naming_the_running_case(
        engine, site):
    """Seed 000: one person's pension moves to one new place at a time. Registering a second
    pension application of a person whose transfer is running is refused (409) in Chinese,
    naming the running case by its number, state title and agencies (never the ID number),
    not the engine's English message; nothing is written."""
    running = open_case(engine, person_id=PERSON_ID)
    clerk = _token(engine, "c-12", "clerk", DESTINATION)
    before = snapshot(engine)
    with _signed_in(site, clerk) as client:
        r = client.post("/cases/new", data=_application(origin="110105"))
        assert r.status_code == 409
        assert _alert(r) == (
            f"申请未登记：此人已有一件正在办理的养老保险转移接续（案件编号{running.public_number}，"
            "当前为「已申请（待受理）」，310000 上海市 → 440300 深圳市）："
            "须办结、不予受理或撤回后才能再申请。")
        assert PERSON_ID not in _alert(r)
    assert _without_access_log(snapshot(engine)) == _without_access_log(before)
