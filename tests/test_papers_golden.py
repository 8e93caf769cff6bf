"""Golden HTML of each paper for one fixed case: what the agencies print is pinned byte for
byte, so a change to the templates or to a paper's content shows here as a diff to review.

Run with ``SSTRANSFER_WRITE_GOLDEN=1`` to rewrite ``tests/golden/papers/`` after a change
meant to alter the papers (then read the diff before committing it)."""

from __future__ import annotations

import os
import shutil
import textwrap
from pathlib import Path

import pytest

from tests.conftest import (
    APPLICANT,
    DEST_CLERK,
    DESTINATION,
    ORIGIN,
    ORIGIN_CLERK,
    SHIPPED,
    open_case,
)
from workflow import Engine
from workflow.core.inputs import public_number_from

GOLDEN = Path(__file__).parent / "golden" / "papers"
#: The illustrative agency data of the fixed case (not any agency's real data or wording).
AGENCIES = textwrap.dedent(f"""\
    agencies:
      "{DESTINATION}":
        name: 示例转入地社会保险经办机构
        address: 示例市示例区示例路1号
        telephone: "0755-00000000"
        account: {{bank: 示例银行示例支行, name: 示例转入地社会保险经办机构, number: "4000000000000000000"}}
        remedies: 示例：如对本告知有异议，可依法申请复核。
      "{ORIGIN}":
        name: 示例转出地社会保险经办机构
    """)
FORM = {"periods": ["1996-07:1998-12:1800.00", "1999-01:2004-06:2600.50",
                    "2004-07:2004-12:3100"], "personal_account": "18765.43"}


@pytest.fixture
def papers(db_url, schema_copy, tmp_path, monkeypatch) -> dict[str, str]:
    """The HTML of each kind of paper, issued by the steps of three fixed pension cases (their
    public case numbers fixed too: they are random in service)."""
    numbers = iter(public_number_from(n) for n in range(1234567890123456789, 2 * 10**18))
    monkeypatch.setattr("workflow.services.cases.new_public_number", lambda: next(numbers))
    folder = tmp_path / "definitions"
    shutil.copytree(SHIPPED, folder)
    (folder / "agencies.yaml").write_text(AGENCIES, encoding="utf-8")
    with Engine(schema_copy(db_url), definitions=folder) as engine:
        done = open_case(engine)
        on = done.last_event_on
        for trigger in ("review", "send_letter"):
            engine.fire(done.id, trigger, actor=DEST_CLERK, on=on)
        engine.fire(done.id, "move_funds", actor=ORIGIN_CLERK, on=on, information_form=FORM)
        engine.fire(done.id, "continue_relationship", actor=DEST_CLERK, on=on,
                    months_at_destination=14)
        refused = open_case(engine)
        engine.fire(refused.id, "reject", actor=DEST_CLERK, on=on,
                    explanation="转出地缴费记录与申请表不符")
        wanting = open_case(engine, documents=["application_form"])
        engine.fire(wanting.id, "request_documents", actor=DEST_CLERK, on=on,
                    documents_needed=["id_card", "payment_voucher"])
        assert APPLICANT.role == "employer"  # the completion notice is addressed to it
        return {p.kind: engine.paper_service.printed(p.id).html
                for case in (done, refused, wanting) for p in engine.papers(case.id)}


def test_each_paper_of_the_fixed_case_is_its_golden_html(papers):
    """联系函, 信息表, 办结通知, 不予受理告知书 and 一次性告知书 of the fixed cases are, byte
    for byte, the files in tests/golden/papers/ (one per kind)."""
    assert sorted(papers) == ["completion_notice", "contact_letter", "information_form",
                              "one_time_notice", "refusal_explanation"]
    if os.environ.get("SSTRANSFER_WRITE_GOLDEN") == "1":
        for kind, html in papers.items():
            (GOLDEN / f"{kind}.html").write_text(html, encoding="utf-8")
    for kind, html in papers.items():
        assert html == (GOLDEN / f"{kind}.html").read_text(encoding="utf-8"), kind
