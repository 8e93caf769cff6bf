"""The golden database: a SQLite file made at schema revision 0002 keeps working after every
later migration (``tests/golden/make_golden_0002.py`` says how it was made)."""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from workflow import Actor, Engine, store

GOLDEN = Path(__file__).parent / "golden" / "sstransfer-0002.db"
DEST = Actor(id="c-12", role="destination_clerk", agency="440300")
ORIG = Actor(id="o-3", role="origin_clerk", agency="310000")
# The next step of a running case, by state: trigger, actor, inputs.
NEXT = {
    "applied": ("review", DEST, {}),
    "reviewed": ("send_letter", DEST, {}),
    "letter_sent": ("move_funds", ORIG, {"documents": ["information_form"], "amount": Decimal("1.00")}),
    "funds_moved": ("continue_relationship", DEST, {"contribution_months": 12}),
}
STATES = {"applied", "awaiting_documents", "reviewed", "letter_sent", "funds_moved", "continued",
          "rejected", "withdrawn"}


@pytest.fixture
def golden(tmp_path: Path) -> Engine:
    copy = tmp_path / "golden.db"
    shutil.copyfile(GOLDEN, copy)
    with Engine(f"sqlite:///{copy}") as engine:
        yield engine


def test_golden_database_upgrades_to_the_current_schema(golden: Engine) -> None:
    """Opening the revision-0002 database upgrades it to today's head revision."""
    assert store.current_revision(golden.db) == store.head_revision()


def test_golden_database_starts_with_the_titled_definitions(tmp_path: Path) -> None:
    """The shipped definitions got zh/en titles after the golden databases were written: titles
    are presentation, left out of the content hash, so every stored version's hash still equals
    the file's and the engine starts (no DefinitionChanged) and shows the titles."""
    for name in ("sstransfer-0002.db", "medical-v1-0002.db"):
        copy = tmp_path / name
        shutil.copyfile(GOLDEN.parent / name, copy)
        db = sa.create_engine(f"sqlite:///{copy}")
        with db.connect() as conn:
            stored = dict(conn.execute(sa.text(
                "SELECT name || ' ' || version, content_hash FROM workflow_definition")).all())
        db.dispose()
        with Engine(f"sqlite:///{copy}") as engine:
            assert stored == {f"{d.name} {d.version}": d.content_hash for d in engine.definitions
                              if d.version == 1 and d.name != "card_application"
                              } and len(stored) == 2
            assert engine.definition("pension_transfer", 1).title("state", "letter_sent") == "已发联系函"


def test_golden_cases_show_their_span_titles_in_a_chinese_report(tmp_path: Path) -> None:
    """The golden database stored its version-1 texts before titles existed. Its overdue
    report names spans by the titles of the folder's version 1; with version 1 gone from the
    folder (replaced by a version 2), the stored untitled version borrows version 2's titles."""
    from workflow.loading import shipped_definitions_dir
    from workflow.render import write_report

    folder = tmp_path / "definitions"
    shutil.copytree(shipped_definitions_dir(), folder)
    for with_v1 in (True, False):
        if not with_v1:
            path = folder / "pension_transfer.yaml"
            path.write_text(path.read_text(encoding="utf-8").replace("version: 1", "version: 2"),
                            encoding="utf-8")
        copy = tmp_path / f"golden-{with_v1}.db"
        shutil.copyfile(GOLDEN, copy)
        with Engine(f"sqlite:///{copy}", definitions=folder) as engine:
            report = engine.overdue_report(dt.date(2026, 9, 1))
            spans = {x.span for x in report.lines() if x.definition == "pension_transfer"}
            assert spans and {x.definition_version for x in report.lines()} == {1}
            page = write_report(report, "html", tmp_path / "r.html").read_text(encoding="utf-8")
            titles = {"destination_review": "转入地审核", "origin_transfer": "转出地办理转移",
                      "destination_continuation": "转入地接续"}
            assert all(f"<td>{titles[s]}</td>" in page for s in spans)
            assert "440300 深圳市" in page


def test_golden_cases_keep_their_states_history_and_alerts(golden: Engine) -> None:
    """After the upgrade every old case reads back with its state, its full history (version =
    number of history rows, state = last row's target) and its alerts."""
    cases = golden.cases()
    assert len(cases) == 32
    assert {c.state for c in cases} == STATES
    for case in cases:
        history = golden.history(case.id)
        assert len(history) == case.version
        assert history[-1].to_state == case.state
        assert case.definition_version == 1
    assert len(golden.alerts()) == 32


def test_golden_running_cases_take_their_next_step(golden: Engine) -> None:
    """Every running old case on version 1 of its definition can still be moved on, and a
    scan after the upgrade raises alerts without duplicating the old ones."""
    moved = 0
    for case in golden.cases():
        if case.state in NEXT:
            trigger, actor, inputs = NEXT[case.state]
            on = max(case.last_event_on, dt.date(2026, 6, 2))
            assert golden.fire(case.id, trigger, actor=actor, on=on, **inputs).version == case.version + 1
            moved += 1
    assert moved == 16
    before = {(a.case_id, a.subject, a.level) for a in golden.alerts()}
    golden.scan(dt.date(2026, 9, 1))
    after = [(a.case_id, a.subject, a.level) for a in golden.alerts()]
    assert len(after) == len(set(after)) and before <= set(after)


def test_golden_idempotency_keys_still_answer(golden: Engine) -> None:
    """A request repeated with an idempotency key stored before the upgrade returns the stored
    result instead of firing again."""
    with golden.db.connect() as conn:
        case_id = conn.scalar(sa.select(store.cases_t.c.id).where(store.cases_t.c.state == "reviewed")
                              .order_by(store.cases_t.c.id).limit(1))
    before = golden.get(case_id)
    again = golden.fire(case_id, "review", actor=DEST, on=dt.date(2026, 3, 9),
                        idempotency_key=f"golden-{case_id}-review")
    assert again.state == "reviewed" and golden.get(case_id).version == before.version
