"""The dashboard in a real browser: Debian's headless Chromium driven with Playwright against
a running uvicorn server, on SQLite and on PostgreSQL. A clerk signs in, opens the inbox,
fires a step, sees a refusal in place, switches to English and downloads a report; the
insured person looks up their transfer on the progress page; screenshots are taken along
the way."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from tests.browser import browser_page
from tests.conftest import DESTINATION, PERSON_ID, full_documents, open_case, snapshot
from tests.live import running
from workflow.api import create_app
from workflow.core.inputs import mask_person_id

FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def _shot(page, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 0
    return path


def test_a_clerk_works_through_the_dashboard_in_a_real_browser(engine, tmp_path: Path):
    """Sign in, inbox in Chinese, fire review from the case page, a refused review shown in
    place with the missing documents, the English switch remembered, a report downloaded."""
    ready = open_case(engine, documents=full_documents("pension_transfer"))
    lacking = open_case(engine, documents=["application_form"], person_name="李四")
    token, _ = engine.access_service.create_token("c-12", "clerk", DESTINATION)
    with running(create_app(engine)) as site, browser_page() as page:
        # Signing in: a page without the cookie goes to the login form, then back.
        page.goto(f"{site}/")
        assert page.url.startswith(f"{site}/login")
        page.fill("#token", "wrong-token-wrong-token")
        page.click("button[type=submit]")
        assert "令牌无效" in page.get_by_role("alert").inner_text()
        page.fill("#token", token)
        page.click("button[type=submit]")
        page.wait_for_url(f"{site}/")
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        assert page.get_by_role("heading", level=1).inner_text() == "440300 深圳市待办环节"
        assert page.locator("#inbox tbody tr").count() == 2
        _shot(page, tmp_path, "inbox")

        # Firing a step: review the case that holds every application document.
        page.click(f'#inbox a[href="/cases/{ready.id}"]')
        page.wait_for_url(f"{site}/cases/{ready.id}")
        page.locator('form:has(input[name=trigger][value=review]) button').click()
        page.wait_for_url(f"{site}/cases/{ready.id}?done=review")
        assert "已办理：审核" in page.get_by_role("status").inner_text()
        _shot(page, tmp_path, "fired")
        assert engine.get(ready.id).state == "reviewed"

        # A refusal, shown in place: reviewing the case that lacks documents.
        page.goto(f"{site}/cases/{lacking.id}")
        page.locator('form:has(input[name=trigger][value=review]) button').click()
        refusal = page.get_by_role("alert")
        assert "「审核」还缺以下材料" in refusal.inner_text()
        _shot(page, tmp_path, "refused")
        assert engine.get(lacking.id).state == "applied"

        # The English switch, remembered on the next pages.
        page.goto(f"{site}/cases/{lacking.id}")
        page.get_by_role("link", name="English").click()
        assert page.locator("html").get_attribute("lang") == "en"
        assert page.get_by_role("heading", level=1).inner_text() == f"Case {lacking.id}: 李四"
        page.get_by_role("link", name="Reports").click()
        assert page.get_by_role("heading", level=1).inner_text() == "Reports"
        _shot(page, tmp_path, "reports-en")

        # A report downloaded in the page's language.
        with page.expect_download() as info:
            page.click('a[href="/reports/overdue.csv"]')
        target = tmp_path / info.value.suggested_filename
        info.value.save_as(str(target))
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
    assert target.name.endswith("-en.csv") and rows[0][0] == "owner agency"
    assert sorted(int(row[1]) for row in rows[1:]) == sorted([ready.id, lacking.id])


def test_the_insured_person_follows_their_transfer_on_the_progress_page_in_a_real_browser(
        engine, tmp_path: Path):
    """The person types the case number and their ID number (full-width digits as an input
    method gives them) and sees the running step, its agency by name and its due dates, with
    the ID number masked; a wrong ID number shows nothing of the case."""
    case = open_case(engine, documents=full_documents("pension_transfer"))
    with running(create_app(engine)) as site, browser_page() as page:
        page.goto(f"{site}/progress")
        assert page.get_by_role("heading", level=1).inner_text() == "社会保险关系转移进度查询"
        page.fill("#case_number", case.public_number)
        page.fill("#person_id", "110105194912310028")  # a wrong check digit
        page.click("button[type=submit]")
        assert page.locator("#running").count() == 0 and PERSON_ID[-4:] not in page.content()
        page.fill("#case_number", case.public_number)
        page.fill("#person_id", PERSON_ID.translate(FULL_WIDTH))
        page.click("button[type=submit]")
        running_step = page.locator("section.running").first.inner_text()
        assert "转入地审核" in running_step and "深圳市" in running_step
        assert "2025年" in running_step
        assert mask_person_id(PERSON_ID) in page.content() and PERSON_ID not in page.content()
        assert "张三" not in page.content()  # the name is not shown
        _shot(page, tmp_path, "progress")


def test_a_sibling_host_of_the_same_site_can_neither_act_nor_sign_in_as_the_clerk(engine):
    """The dashboard at dash.example.test, an attacker's page at evil.example.test (the same
    site: the SameSite=Strict cookie is sent along): its form that rejects a case as the
    signed-in clerk is refused and writes nothing; its form that signs the browser in as the
    attacker is refused too, and the clerk stays signed in as themselves."""
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    case = open_case(engine, documents=full_documents("pension_transfer"))
    clerk, _ = engine.access_service.create_token("c-12", "clerk", DESTINATION)
    attacker, _ = engine.access_service.create_token("c-66", "clerk", DESTINATION)
    with running(create_app(engine)) as site:
        dash = site.replace("127.0.0.1", "dash.example.test")
        forms = {
            "/reject": (f"{dash}/cases/{case.id}/fire",
                        {"trigger": "reject", "explanation": "forged", "version": "1"}),
            "/login": (f"{dash}/login", {"token": attacker, "next": "/"}),
        }

        def attack(request):
            action, fields = forms[request.url.path]
            inputs = "".join(f'<input type="hidden" name="{k}" value="{v}">'
                             for k, v in fields.items())
            return HTMLResponse(f'<form method="post" action="{action}">{inputs}</form>'
                                "<script>document.forms[0].submit()</script>")

        evil_app = Starlette(routes=[Route(path, attack) for path in forms])
        with running(evil_app) as evil_site, browser_page(
                args=("--host-resolver-rules=MAP *.example.test 127.0.0.1",)) as page:
            evil = evil_site.replace("127.0.0.1", "evil.example.test")
            page.goto(f"{dash}/login")
            page.fill("#token", clerk)
            page.click("button[type=submit]")
            page.wait_for_url(f"{dash}/")
            before = snapshot(engine)
            for path in forms:
                with page.expect_response(lambda r: r.url.startswith(dash)) as answer:
                    page.goto(f"{evil}{path}")
                assert answer.value.status == 403, path
            after = snapshot(engine)
            assert {k: v for k, v in after.items() if k != "access_log"} \
                == {k: v for k, v in before.items() if k != "access_log"}
            assert engine.get(case.id).state == "applied"
            page.goto(f"{dash}/reports")
            assert "c-12" in page.content() and "c-66" not in page.content()
