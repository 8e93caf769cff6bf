"""The person's progress page (转移进度查询), driven over HTTP against a running uvicorn server
on SQLite and PostgreSQL: what a match shows, what a mismatch does not, the rate limits and
the access log."""

from __future__ import annotations

import datetime as dt
import re
import textwrap

import httpx
import pytest
from stdnum.iso7064 import mod_11_10

from tests.conftest import (
    APPLICANT,
    DEST_CLERK,
    ORIGIN_CLERK,
    PERSON_ID,
    open_case,
    snapshot,
)
from tests.live import running
from workflow import Engine
from workflow.api import create_app
from workflow.core.inputs import Actor, parse_public_number, public_number_from, today
from workflow.loading import COMMITMENTS_FILE

D = dt.date
MASKED = "110105********002X"
WRONG_ID = "110108198001010015"  # a valid ID number, not the one of the case


@pytest.fixture
def engine(db_url, schema_copy, definitions_dir):
    """An engine whose definitions give 440300's destination review a committed limit of 7
    working days (illustrative, not a real commitment), next to the statutory 15."""
    (definitions_dir / COMMITMENTS_FILE).write_text(textwrap.dedent("""\
        commitments:
          - definition: pension_transfer
            span: destination_review
            agency: "440300"
            working_days: 7
            source: test data, not a real commitment
        """), encoding="utf-8")
    with Engine(schema_copy(db_url), definitions=definitions_dir) as e:
        yield e


@pytest.fixture
def site(engine):
    with running(create_app(engine)) as url:
        yield url


def look_up(site: str, case_number: object, person_id: str, *, lang: str | None = None,
            client: str | None = None) -> httpx.Response:
    """Submit the form as a browser does; ``client`` is the address a reverse proxy on
    loopback names in ``X-Forwarded-For`` (uvicorn trusts it from 127.0.0.1 only)."""
    headers = {"X-Forwarded-For": client} if client else {}
    return httpx.post(f"{site}/progress", params={"lang": lang} if lang else None,
                      data={"case_number": str(case_number), "person_id": person_id},
                      headers=headers)


def main_of(page: httpx.Response) -> str:
    """The page's <main>, tags removed and spaces collapsed: what a reader sees of it."""
    main = page.text.split("<main>", 1)[1].split("</main>", 1)[0]
    return " ".join(re.sub(r"<[^>]+>", " ", main).split())


def test_a_match_shows_the_running_step_its_agency_both_due_dates_and_the_masked_id_only(
        engine, site):
    """Case number and ID number match: which insurance and from where to where, the steps
    done with their dates, the step now running (destination review at 深圳市 440300,
    committed due 2025年10月13日, statutory 2025年10月23日) and that it is late, where to ask
    (12333), the ID number masked; not the name, the full ID number, documents or amounts."""
    case = open_case(engine)
    assert [(s.committed_due_on, s.due_on) for s in engine.spans(case.id)] \
        == [(D(2025, 10, 13), D(2025, 10, 23))]
    page = look_up(site, case.public_number, PERSON_ID)
    assert page.status_code == 200
    assert main_of(page) == (
        f"业务流水号 {case.public_number} 身份证号码 {MASKED} 险种 养老保险 "
        "转移 由上海市（310000）转至深圳市（440300） "
        "当前办理环节 转入地审核 已超过办结期限。 办理机构 深圳市（440300） "
        "承诺办结日期 2025年10月13日 法定办结日期 2025年10月23日 "
        "已办理环节 环节 办理日期 已申请（待受理） 2025年9月26日 "
        "查询其他业务 如有疑问，请拨打12333咨询，或联系当前的办理机构。 "
        "本页仅显示办理进度，不显示个人其他信息。")
    for hidden in (PERSON_ID, "张三", "application_form", "employer", "hr-7", "c-12"):
        assert hidden not in page.text
    assert page.headers["Cache-Control"] == "no-store"
    assert "<script" not in page.text.lower()

    engine.fire(case.id, "review", actor=DEST_CLERK, on=D(2025, 9, 29))
    engine.fire(case.id, "send_letter", actor=DEST_CLERK, on=D(2025, 9, 30))
    text = main_of(look_up(site, case.public_number, PERSON_ID))
    assert "当前办理环节 转出地办理转移 已超过办结期限。 办理机构 上海市（310000） " \
        "法定办结日期 2025年10月28日 " in text and "承诺办结日期" not in text
    assert "已申请（待受理） 2025年9月26日 已审核 2025年9月29日 已发联系函 2025年9月30日" in text


def test_an_id_number_typed_with_full_width_digits_or_a_lower_case_x_still_matches(engine, site):
    """The ID number and case number are read as the engine stores them: full-width digits,
    a lower-case x, padding, and the case number in groups of four (spaces or hyphens) are
    normalised before comparing."""
    case = open_case(engine)
    full_width = PERSON_ID[:-1].translate(str.maketrans("0123456789", "０１２３４５６７８９")) + "x"
    number = case.public_number.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    grouped = " ".join(case.public_number[i:i + 4] for i in range(0, 20, 4))
    for person_id, case_number in ((full_width, case.public_number),
                                   (f" {PERSON_ID.lower()} ", number),
                                   (PERSON_ID, grouped), (PERSON_ID, grouped.replace(" ", "-"))):
        page = look_up(site, case_number, person_id)
        assert page.status_code == 200 and MASKED in page.text and "转入地审核" in page.text


def _tries(engine) -> dict[tuple[str, str], tuple[int, int]]:
    """The progress page's tries: (client, case number or "" for the client's budget) ->
    (tries in the window, failures on that number)."""
    return {(client, subject): (tries, failures) for client, subject, _, tries, failures, _
            in snapshot(engine)["progress_try"]}


def test_the_case_number_is_public_random_with_a_check_digit_and_not_the_internal_id(engine):
    """业务流水号: 20 digits, the last an ISO 7064 MOD 11,10 check digit; random (two cases
    opened one after the other share nothing of a count) and not the row id."""
    first, second = open_case(engine), open_case(engine, person_id=WRONG_ID)
    for case in (first, second):
        assert len(case.public_number) == 20 and case.public_number.isdigit()
        assert mod_11_10.is_valid(case.public_number)
        assert parse_public_number(case.public_number) == case.public_number
        assert str(case.id) != case.public_number
    assert first.public_number != second.public_number
    assert abs(int(first.public_number) - int(second.public_number)) > 10 ** 6
    typo = first.public_number[:-2] + str((int(first.public_number[-2]) + 1) % 10) \
        + first.public_number[-1]
    assert parse_public_number(typo) is None  # one wrong digit fails the check


def test_a_mismatch_gets_one_generic_message_identical_for_an_unknown_case_and_counts(
        engine, site):
    """A wrong ID number, an unknown case number, the internal case id, a malformed ID number
    and a case number that is no number all get the same page, byte for byte (nothing tells
    whether the case exists); each counts as a failed try of its client on that number, and
    nothing is written to the access log."""
    case = open_case(engine)
    unknown = public_number_from(12345)
    pages = [look_up(site, case.public_number, WRONG_ID, client="203.0.113.1"),
             look_up(site, unknown, PERSON_ID, client="203.0.113.2"),
             look_up(site, case.id, PERSON_ID, client="203.0.113.2"),
             look_up(site, case.public_number, "11010519491231002", client="203.0.113.3"),
             look_up(site, "１２abc", PERSON_ID, client="203.0.113.4"),
             look_up(site, 10**30, PERSON_ID, client="203.0.113.5")]
    assert {p.status_code for p in pages} == {200}
    assert len({p.text for p in pages}) == 1
    assert "未查询到与所填业务流水号和身份证号码相符的转移申请" in pages[0].text
    assert MASKED not in pages[0].text and "转入地审核" not in pages[0].text
    tries = _tries(engine)
    assert tries[("203.0.113.1", case.public_number)] == (0, 1)
    assert tries[("203.0.113.2", unknown)] == (0, 1)
    assert tries[("203.0.113.2", "")][0] == 2 and tries[("203.0.113.5", "?")] == (0, 1)
    assert engine.access_service.store.access_log(limit=10) == []


def test_wrong_id_numbers_make_that_client_wait_longer_each_time_never_locking_the_owner_out(
        engine, site):
    """After the free failures on a case number, the client that gave them must wait
    (429 with Retry-After, the try not judged even with the right ID number), longer after
    each further failure; the owner, at another address, sees the progress all along."""
    case = open_case(engine)
    free, first = engine.settings.progress_free_failures, engine.settings.progress_backoff_seconds
    attacker = "198.51.100.7"
    for _ in range(free - 1):
        assert look_up(site, case.public_number, WRONG_ID, client=attacker).status_code == 200
    assert look_up(site, case.public_number, WRONG_ID, client=attacker).status_code == 200
    waiting = look_up(site, case.public_number, PERSON_ID, client=attacker)
    assert waiting.status_code == 429 and "查询次数过多" in waiting.text
    assert first - 2 <= int(waiting.headers["Retry-After"]) <= first
    assert MASKED not in waiting.text and "转入地审核" not in waiting.text
    assert _tries(engine)[(attacker, case.public_number)] == (0, free)
    # The owner is never locked out by someone else's failures.
    assert MASKED in look_up(site, case.public_number, PERSON_ID, client="192.0.2.200").text
    assert [e.view for e in engine.access_service.store.access_log()] == ["progress"]


def test_too_many_tries_from_one_address_get_429_while_another_address_still_sees(engine, site):
    """Tries are counted per client address, successful ones too: past the limit that address
    gets 429 even with the right numbers, and another address still gets the progress."""
    case = open_case(engine)
    for _ in range(engine.settings.progress_tries_per_client):
        assert look_up(site, case.public_number, PERSON_ID, client="203.0.113.9").status_code == 200
    page = look_up(site, case.public_number, PERSON_ID, client="203.0.113.9")
    assert page.status_code == 429 and "Retry-After" in page.headers
    assert MASKED not in page.text and "转入地审核" not in page.text
    assert MASKED in look_up(site, case.public_number, PERSON_ID, client="203.0.113.10").text


def test_each_view_of_a_case_is_written_to_the_access_log(engine, site):
    """A successful view is one access-log row: the insured person (role self) read the case
    on the progress page; a refused try writes none."""
    case = open_case(engine)
    look_up(site, case.public_number, WRONG_ID)
    assert engine.access_service.store.access_log(case_id=case.id) == []
    look_up(site, case.public_number, PERSON_ID)
    [entry] = engine.access_service.store.access_log(case_id=case.id)
    assert (entry.actor_id, entry.role, entry.agency, entry.view, entry.via) \
        == ("insured_person", "self", None, "progress", "progress")


def test_the_page_is_chinese_first_with_an_english_switch(engine, site):
    """The form is in Simplified Chinese (lang zh-CN as on the dashboard, labelled fields, a link to English);
    ``?lang=en`` gives the form and the progress in English, dates as 26 September 2025."""
    case = open_case(engine)
    form = httpx.get(f"{site}/progress")
    assert form.status_code == 200 and '<html lang="zh-CN">' in form.text
    for field, label in (("case_number", "业务流水号"), ("person_id", "身份证号码")):
        assert f'<label for="{field}">{label}</label>' in form.text
        assert f'id="{field}" name="{field}"' in form.text
    assert '<a href="?lang=en"' in form.text and "<script" not in form.text.lower()

    english = httpx.get(f"{site}/progress", params={"lang": "en"})
    assert '<html lang="en">' in english.text and '<form method="post" action="?lang=en"' \
        in english.text and '<label for="person_id">ID number</label>' in english.text
    text = main_of(look_up(site, case.public_number, PERSON_ID, lang="en"))
    assert ("Step now running destination review This step is past its due date. "
            "Agency 深圳市 (440300) "
            "Committed due date 2025-10-13 Statutory due date 2025-10-23 "
            "Steps done Step Date applied (awaiting review) 2025-09-26") in text
    assert "Too many" not in text and "业务流水号" not in text


def test_a_refused_application_shows_the_person_the_reason_the_agency_wrote(engine, site):
    """不予受理: the person reads the written explanation's reason on the page (000 (2)),
    never the agency's paper itself."""
    case = open_case(engine)
    engine.fire(case.id, "reject", actor=DEST_CLERK, on=case.last_event_on,
                explanation="缴费记录不连续")
    text = main_of(look_up(site, case.public_number, PERSON_ID))
    assert "不予受理的原因 缴费记录不连续" in text
    assert "Why the application was refused" in main_of(
        look_up(site, case.public_number, PERSON_ID, lang="en"))


def test_a_request_for_documents_lists_every_one_still_missing_by_its_name(engine, site):
    """一次性告知: every document the agency asked for and the person has not brought yet, at
    once, by its Chinese name; one brought since drops off the list."""
    case = open_case(engine)
    case = engine.fire(case.id, "request_documents", actor=DEST_CLERK, on=case.last_event_on,
                       documents_needed=["payment_voucher", "endowment_manual"])
    text = main_of(look_up(site, case.public_number, PERSON_ID))
    assert "还需提供的材料" in text
    names = [engine.definition("pension_transfer").catalogue.title(k)
             for k in ("payment_voucher", "endowment_manual")]
    assert all(name in text for name in names)
    engine.attach_documents(case.id, ["payment_voucher"], actor=APPLICANT)
    text = main_of(look_up(site, case.public_number, PERSON_ID))
    assert names[0] not in text and names[1] in text


def test_a_step_within_its_time_limit_is_not_called_late(engine, site):
    """A step whose due date (the committed one where there is one) is still ahead says
    nothing of lateness; the same page in English names the insurance and the route."""
    case = open_case(engine, on=today())
    [span] = engine.spans(case.id)
    assert (span.committed_due_on or span.due_on) >= today()
    assert "已超过办结期限" not in main_of(look_up(site, case.public_number, PERSON_ID))
    english = main_of(look_up(site, case.public_number, PERSON_ID, lang="en"))
    assert "Insurance pension Transfer from 上海市 (310000) to 深圳市 (440300)" in english
    assert "past its due date" not in english and "Call 12333" in english


def test_the_three_month_premium_window_is_shown_as_the_persons_own_duty(engine, site):
    """Seed 002: with no receiving employer the person pays the premiums within three months:
    the page says that this is the person's own duty (not an agency's step), by when, and
    names no agency for it."""
    me = Actor("p-1", "self", person_id=PERSON_ID)
    case = open_case(engine, "medical_transfer", applicant="self", actor=me)
    engine.fire(case.id, "review", actor=DEST_CLERK, on=D(2025, 10, 9))
    engine.fire(case.id, "move_funds", actor=ORIGIN_CLERK, on=D(2025, 11, 28),
                documents=["information_form"], amount=0)
    premium = next(s for s in engine.spans(case.id) if s.name == "premium_payment")
    text = main_of(look_up(site, case.public_number, PERSON_ID))
    assert "险种 医疗保险" in text
    duty = ("参保人缴费 这是您本人需要办理的事项，不是经办机构的办理环节："
            f"请在{premium.due_on.year}年{premium.due_on.month}月{premium.due_on.day}日前"
            "自行缴纳保险费。")
    assert duty in text and "办理方 本人" in text
    late = "已超过办结期限。" in text.split("参保人缴费", 1)[1].split("办理方", 1)[0]
    assert late == (premium.due_on < today())
