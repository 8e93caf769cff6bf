"""Issue 21, "Done when": "A browser test (Debian's Chromium) plays a clerk's morning: sign in,
search a person by the last four digits of the ID number, register an application, attach a
missing document, fire the steps, print the contact letter, see a refusal in Chinese; and a
supervisor's: inbox grouped by agency, resolved alerts gone, correct a date; screenshots taken
in the test, one in the README."

Each test drives one headless Chromium (Playwright) against a running uvicorn server, on SQLite
and on PostgreSQL; it asserts what the user sees through the browser and what the database now
holds through the engine, and that no page ever shows an ID number unmasked. Screenshots go to
``tmp_path`` and, when ``SSTRANSFER_SCREENSHOTS`` names a folder, there as well (the README's
``docs/screenshots/clerks-morning.png`` is made that way)."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import browser_page
from tests.conftest import (
    DEST_CLERK,
    DESTINATION,
    ORIGIN,
    OTHER_PERSON_ID,
    PERSON_ID,
    RECEIVED,
    SHIPPED,
    full_documents,
    open_case,
)
from tests.live import running
from workflow import Engine
from workflow.api import create_app
from workflow.core.inputs import mask_person_id

#: Six working days past the review's due date (2025-10-23): the review is overdue.
LATE = dt.date(2025, 10, 31)
#: Each ID number a test's cases hold: shown masked or not at all, never whole.
ID_NUMBERS = (PERSON_ID, OTHER_PERSON_ID)


@pytest.fixture
def shipped_engine(db_url: str, schema_copy) -> Iterator[Engine]:
    """An engine on the definitions as they ship: the versions whose steps issue papers, so a
    case registered from the dashboard issues its contact letter."""
    with Engine(schema_copy(db_url), definitions=SHIPPED) as engine:
        yield engine


def _look(page, folder: Path, name: str, *, paper: bool = False) -> Path:
    """A full-page screenshot of this stage (non-empty, copied to $SSTRANSFER_SCREENSHOTS
    when set), after checking that a dashboard page shows no ID number unmasked (a printed
    ``paper`` is the agencies' official letter, which names the person by the full number)."""
    content = page.content()
    if not paper:
        assert not [n for n in ID_NUMBERS if n in content], f"an ID number unmasked on {name}"
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 0
    if out := os.environ.get("SSTRANSFER_SCREENSHOTS"):
        Path(out).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(out) / path.name)
    return path


def _readme_shot(page, name: str) -> None:
    """The README's picture: the viewport only (1280 px wide, small), when asked for."""
    if out := os.environ.get("SSTRANSFER_SCREENSHOTS"):
        page.screenshot(path=str(Path(out) / name))


def _sign_in(page, site: str, token: str) -> None:
    page.goto(f"{site}/login")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{site}/")


def _fire(page, trigger: str) -> None:
    page.locator(f"form:has(input[name=trigger][value={trigger}]) button[type=submit]").click()


def test_a_clerk_s_morning_in_a_real_browser(shipped_engine: Engine, tmp_path: Path):
    """A clerk of 440300 signs in; finds 张三's case by the last four digits of the ID number
    (shown masked); registers 李四's application with the payment voucher missing; is refused
    the review in Chinese (「审核」还缺以下材料), and 不予受理 (red) without its confirmation box,
    by the browser and by the server; attaches the voucher from the case page;
    fires the review and sends the contact letter; prints the letter, which carries the case's
    number. The engine holds each change; no page shows an ID number whole."""
    engine = shipped_engine
    known = open_case(engine)
    token, _ = engine.access_service.create_token("c-12", "clerk", DESTINATION)
    with running(create_app(engine)) as site, browser_page() as page:
        _sign_in(page, site, token)
        assert "440300" in page.get_by_role("heading", level=1).inner_text()
        _look(page, tmp_path, "01-inbox")

        # Search a person by the last four digits of the ID number (posted, never in the URL).
        page.goto(f"{site}/search")
        page.fill("input[name=person_id_ending]", PERSON_ID[-4:])
        page.locator("form[role=search] button[type=submit]").click()
        page.wait_for_selector("#search-results")
        rows = page.locator("#search-results tbody tr")
        assert rows.count() == 1
        row = rows.first.inner_text()
        assert "张三" in row and mask_person_id(PERSON_ID) in row
        assert PERSON_ID[-4:] not in page.url
        _look(page, tmp_path, "02-search")
        _readme_shot(page, "clerks-morning.png")
        page.locator(f'#search-results a[href="/cases/{known.id}"]').click()
        page.wait_for_url(f"{site}/cases/{known.id}")

        # Register an application at the counter, the payment voucher not handed in.
        page.goto(f"{site}/cases/new?definition=pension_transfer")
        page.fill("#person_id", OTHER_PERSON_ID)
        page.fill("#person_name", "李四")
        page.fill("#origin", ORIGIN)
        assert page.input_value("#destination") == DESTINATION
        handed_in = [k for k in full_documents("pension_transfer") if k != "payment_voucher"]
        for kind in handed_in:
            page.check(f"input[name=documents][value={kind}]")
        page.fill("#on", str(RECEIVED))
        page.locator("form.register button[type=submit]").click()
        page.wait_for_url(re.compile(rf"{re.escape(site)}/cases/\d+"))
        case_id = int(re.search(r"/cases/(\d+)", page.url).group(1))  # type: ignore[union-attr]
        assert "李四" in page.get_by_role("heading", level=1).inner_text()
        case = engine.get(case_id)
        assert (case.state, case.person_name, case.destination) == ("applied", "李四",
                                                                    DESTINATION)
        assert "payment_voucher" not in case.documents
        _look(page, tmp_path, "03-registered")

        # A refusal in Chinese: the review lacks the voucher; nothing is written.
        version = engine.get(case_id).version
        _fire(page, "review")
        refusal = page.get_by_role("alert")
        assert "「审核」还缺以下材料" in refusal.inner_text()
        _look(page, tmp_path, "04-refused")
        assert (engine.get(case_id).state, engine.get(case_id).version) == ("applied", version)

        # 不予受理 is destructive: shown in red, the browser holds it back until its box is
        # ticked, and the server refuses it too (in Chinese) when the box is not sent.
        page.goto(f"{site}/cases/{case_id}")
        reject = page.locator("form.danger:has(input[name=trigger][value=reject])")
        assert "不予受理" in reject.get_by_role("heading").inner_text()
        reject.locator("textarea[name=explanation]").fill("材料不全")
        box = reject.locator("input[name=confirm]")
        assert box.evaluate("box => box.required && box.validity.valueMissing")
        assert not reject.evaluate("form => form.checkValidity()")  # the browser won't send it
        box.evaluate("box => box.removeAttribute('required')")
        reject.locator("button[type=submit]").click()
        assert "不予受理" in page.get_by_role("alert").inner_text()
        _look(page, tmp_path, "04-unconfirmed")
        assert (engine.get(case_id).state, engine.get(case_id).version) == ("applied", version)

        # Attach the missing document from the case page.
        page.goto(f"{site}/cases/{case_id}")
        attach = page.locator(f'form[action="/cases/{case_id}/documents"]')
        attach.locator("input[name=documents][value=payment_voucher]").check()
        attach.locator("button[type=submit]").click()
        page.wait_for_url(f"{site}/cases/{case_id}?done=attach")
        assert page.get_by_role("status").count() == 1
        assert "payment_voucher" in engine.get(case_id).documents
        _look(page, tmp_path, "05-attached")

        # Fire the steps: review, then send the contact letter (dated today, as attaching was).
        for trigger, state in (("review", "reviewed"), ("send_letter", "letter_sent")):
            _fire(page, trigger)
            page.wait_for_url(f"{site}/cases/{case_id}?done={trigger}")
            assert page.get_by_role("status").count() == 1
            assert engine.get(case_id).state == state
        _look(page, tmp_path, "06-letter-sent")

        # Print the contact letter: the print view is the letter with the case's number.
        [letter] = engine.papers(case_id)
        assert letter.kind == "contact_letter"
        link = page.locator(f'a.print[href="/cases/{case_id}/papers/{letter.id}.html"]')
        with page.context.expect_page() as opened:
            link.click()
        printed = opened.value
        printed.wait_for_load_state()
        heading = printed.get_by_role("heading", level=1).inner_text()
        assert "联系函" in heading
        text = printed.locator("body").inner_text()
        number = engine.get(case_id).public_number or str(case_id)
        assert letter.number in text and number in text and "李四" in text
        _look(printed, tmp_path, "07-contact-letter", paper=True)
        _look(page, tmp_path, "08-case-after-printing")


def test_a_supervisor_s_morning_in_a_real_browser(engine: Engine, tmp_path: Path):
    """A province supervisor (44) sees the inbox grouped by agency (440100 广州市 before
    440300 深圳市); after a scan both reviews are overdue on the alerts page; once the
    Shenzhen case's review span ends (the contact letter sent) its line is gone from the
    alerts page and listed under ?show=resolved; the province supervisor's correction of a date
    is refused in Chinese (only the case's agencies' supervisors correct) and writes nothing;
    the supervisor of 440100 corrects the date the Guangzhou application was received, and the
    engine holds the new date."""
    shenzhen = open_case(engine)
    guangzhou = open_case(engine, person_id=OTHER_PERSON_ID, person_name="王五",
                          destination="440100")
    engine.scan(LATE)
    token, _ = engine.access_service.create_token("s-44", "supervisor", province="44")
    with running(create_app(engine)) as site, browser_page() as page:
        _sign_in(page, site, token)

        # The inbox grouped by agency: a heading and a table per agency, in code order.
        groups = page.locator("section.agency-group")
        assert groups.count() == 2
        assert "440100" in groups.nth(0).get_by_role("heading", level=2).inner_text()
        assert "440300" in groups.nth(1).get_by_role("heading", level=2).inner_text()
        assert "王五" in page.locator("#inbox-440100 tbody").inner_text()
        assert "张三" in page.locator("#inbox-440300 tbody").inner_text()
        _look(page, tmp_path, "11-province-inbox")

        # Alerts: both reviews overdue; the Shenzhen one resolved once its span ends.
        page.goto(f"{site}/alerts")
        listed = page.locator("#alerts tbody tr")
        assert listed.count() == 2
        _look(page, tmp_path, "12-alerts")
        for trigger in ("review", "send_letter"):
            engine.fire(shenzhen.id, trigger, actor=DEST_CLERK, on=dt.date(2025, 11, 3))
        assert [a.resolved_on for a in engine.alerts(case_id=shenzhen.id)] \
            == [dt.date(2025, 11, 3)] * 2
        page.reload()
        assert listed.count() == 1
        assert page.locator(f'#alerts a[href="/cases/{guangzhou.id}"]').count() == 1
        assert page.locator(f'#alerts a[href="/cases/{shenzhen.id}"]').count() == 0
        page.goto(f"{site}/alerts?show=resolved")
        assert page.locator("#alerts tbody tr").count() == 1
        assert page.locator(f'#alerts a[href="/cases/{shenzhen.id}"]').count() == 1
        _look(page, tmp_path, "13-alerts-resolved")

        # Correct a date from the case page: a province supervisor is refused in Chinese (the
        # case's agencies' supervisors correct), and nothing is written.
        new_date = RECEIVED + dt.timedelta(days=3)
        version = engine.get(guangzhou.id).version
        page.goto(f"{site}/cases/{guangzhou.id}")
        page.fill("#correct-on", str(new_date))
        page.fill("#correct-reason", "收件日期录入错误")
        page.locator('form[action$="/business-date"] button[type=submit]').click()
        assert "440100 广州市" in page.get_by_role("alert").inner_text()
        assert engine.get(guangzhou.id).version == version
        _look(page, tmp_path, "14-correction-refused")

        # The supervisor of 440100 corrects it: the application was received three days later.
        local, _ = engine.access_service.create_token("s-2", "supervisor", "440100")
        _sign_in(page, site, local)
        page.goto(f"{site}/cases/{guangzhou.id}")
        page.fill("#correct-on", str(new_date))
        page.fill("#correct-reason", "收件日期录入错误")
        page.locator('form[action$="/business-date"] button[type=submit]').click()
        page.wait_for_url(f"{site}/cases/{guangzhou.id}?done=correct")
        assert page.get_by_role("status").count() == 1
        _look(page, tmp_path, "15-date-corrected")
    assert engine.history(guangzhou.id)[0].business_date == new_date
    assert engine.spans(guangzhou.id)[0].started_on == new_date
