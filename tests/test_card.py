"""The social security card at the destination (seed 004, issue 20): a `card_application`
opened only after the person's pension transfer to that agency is continued, linked to it."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import httpx
import pytest

from tests.conftest import (
    DEST_CLERK,
    DESTINATION,
    ORIGIN,
    ORIGIN_CLERK,
    OTHER_PERSON_ID,
    PERSON_ID,
    full_documents,
    open_case,
    refused,
    snapshot,
)
from tests.live import running
from tests.web import Browser
from workflow import (
    Actor,
    CaseNotFound,
    DefinitionError,
    Engine,
    InvalidInput,
    InvalidRow,
    MissingDocuments,
    NotPermitted,
    Principal,
    TransferAlreadyRunning,
)
from workflow.api import create_app
from workflow.errors import RequiredCaseMissing
from workflow.loading import DefinitionSet

D = dt.date
CARD_DOCUMENTS = ["id_card", "one_inch_photo", "card_registration_form"]
CONTINUED_ON = D(2025, 10, 30)


def continued_pension(engine: Engine, destination: str = DESTINATION, state: str = "continued",
                      person_id: str | None = None):
    """A pension transfer received 2025-09-26, moved on to ``state`` (2025-10-30 at the latest)."""
    who = {"person_id": person_id} if person_id else {}
    case = open_case(engine, "pension_transfer", destination=destination, **who)
    clerk = Actor(id="c-9", role="destination_clerk", agency=destination)
    steps = [("review", clerk, {}), ("send_letter", clerk, {}),
             ("move_funds", ORIGIN_CLERK, {"documents": ["information_form"], "amount": "1.00"}),
             ("continue_relationship", clerk, {"contribution_months": 120})]
    for trigger, actor, inputs in steps:
        if case.state == state:
            break
        case = engine.fire(case.id, trigger, actor=actor, on=CONTINUED_ON, **inputs)
    return case


def open_card(engine: Engine, **overrides):
    args = dict(person_id=PERSON_ID, person_name="张三", destination=DESTINATION,
                applicant="self", documents=CARD_DOCUMENTS, actor=DEST_CLERK,
                on=D(2025, 11, 3))
    args.update(overrides)
    return engine.open_case("card_application", **args)


def test_a_card_application_opens_only_after_the_pension_transfer_to_that_destination_is_continued(
        engine):
    """Seed 004: "The opening of inter-provincial social security cards requires transferring
    the social security relationship first, and then handling a new social security card at
    the target insured place." Refused with no pension transfer, with one continued to another
    agency and with one not yet continued; nothing is written."""
    error = refused(engine, RequiredCaseMissing, open_card, engine)
    assert str(error) == ("card_application can be opened only for a person whose "
                          "pension_transfer to agency 440300 is continued; this person has none")
    continued_pension(engine, destination="110000")
    refused(engine, RequiredCaseMissing, open_card, engine)
    # PERSON_ID's second pension transfer (the first one ended): to 440300, not yet continued
    moving = continued_pension(engine, state="funds_moved")
    assert moving.person_id == PERSON_ID
    refused(engine, RequiredCaseMissing, open_card, engine)
    pension = engine.fire(moving.id, "continue_relationship", actor=DEST_CLERK, on=CONTINUED_ON,
                          contribution_months=120)
    card = open_card(engine)
    assert (card.definition, card.state, card.insurance) == ("card_application", "applied",
                                                             "pension")
    assert [(x.case_id, x.relation) for x in engine.linked_cases(card.id)] == [
        (pension.id, "required")]
    assert [(x.case_id, x.relation, x.state) for x in engine.linked_cases(pension.id)] == [
        (card.id, "opened_after", "applied")]


def test_a_card_case_has_only_its_destination_agency(engine):
    """Seed 004: the card is applied for "at the target insured place": the case has one
    agency (stored as both ends, scope local); an origin is refused, and the pension's origin
    clerk may not act on it."""
    continued_pension(engine)
    refused(engine, InvalidInput, open_card, engine, origin=ORIGIN)
    card = open_card(engine)
    assert (card.origin, card.destination, card.scope) == (DESTINATION, DESTINATION, "local")
    refused(engine, NotPermitted, engine.fire, card.id, "accept", actor=ORIGIN_CLERK,
            on=D(2025, 11, 4))


def test_the_card_needs_the_id_card_a_one_inch_colour_photo_and_the_registration_form(engine):
    """Seed 004: "Bring the original and photocopy of my valid ID card and one-inch color ID
    card photo ... Fill in the social security card application registration form": the
    application is accepted only with all three, and a refusal names the missing ones."""
    continued_pension(engine)
    card = open_card(engine, documents=["id_card"])
    error = refused(engine, MissingDocuments, engine.fire, card.id, "accept", actor=DEST_CLERK,
                    on=D(2025, 11, 4))
    assert "one-inch colour ID photo" in str(error)
    assert "social security card application registration form" in str(error)
    case = engine.fire(card.id, "accept", actor=DEST_CLERK, on=D(2025, 11, 4),
                       documents=["one_inch_photo", "card_registration_form"])
    assert case.state == "accepted"


def test_the_card_is_accepted_made_and_then_collected(engine):
    """Seed 004: "When the social security card is made, it will be collected at the
    designated place": applied → accepted → card_made → collected, in that order only."""
    continued_pension(engine)
    card = open_card(engine)
    refused(engine, Exception, engine.fire, card.id, "collect", actor=DEST_CLERK,
            on=D(2025, 11, 4))
    for trigger, state in [("accept", "accepted"), ("make_card", "card_made"),
                           ("collect", "collected")]:
        card = engine.fire(card.id, trigger, actor=DEST_CLERK, on=D(2025, 11, 10))
        assert card.state == state
    assert [h.trigger for h in engine.history(card.id)] == ["open", "accept", "make_card",
                                                            "collect"]


def test_a_card_application_is_rejected_with_a_written_explanation(engine):
    """Issue 20: "or rejected with an explanation": no explanation, no rejection."""
    continued_pension(engine)
    card = open_card(engine)
    refused(engine, InvalidInput, engine.fire, card.id, "reject", actor=DEST_CLERK,
            on=D(2025, 11, 4))
    case = engine.fire(card.id, "reject", actor=DEST_CLERK, on=D(2025, 11, 4),
                       explanation="照片不符合制卡要求 (photo does not meet the card's requirements)")
    assert case.state == "rejected"
    assert engine.history(card.id)[-1].comment.startswith("照片不符合")


def _with_commitment(tmp_path: Path, entry: str) -> Path:
    from workflow.loading import shipped_definitions_dir

    folder = tmp_path / "definitions"
    shutil.copytree(shipped_definitions_dir(), folder)
    (folder / "committed_limits.yaml").write_text(f"commitments:\n  - {entry}\n",
                                                  encoding="utf-8")
    return folder


def test_card_making_is_timed_only_by_an_agency_s_committed_limit(db_url, tmp_path):
    """Issue 20: "with its time limit from committed limits (cite no statutory limit you
    cannot source)": the seeds give none. Without a commitment no clock runs; with 440300's
    committed 10 working days, a card accepted Monday 2025-11-03 is due 2025-11-17, judged by
    that date alone (no statutory due date to breach)."""
    with Engine(db_url) as engine:
        continued_pension(engine)
        card = open_card(engine)
        engine.fire(card.id, "accept", actor=DEST_CLERK, on=D(2025, 11, 3))
        assert engine.spans(card.id) == []
    folder = _with_commitment(tmp_path, '{definition: card_application, span: card_making, '
                                        'agency: "440300", working_days: 10, source: test}')
    with Engine(db_url, definitions=folder) as engine:
        card = open_card(engine)
        engine.fire(card.id, "accept", actor=DEST_CLERK, on=D(2025, 11, 3))
        [span] = engine.spans(card.id)
        assert (span.name, span.owner_agency, span.due_on, span.committed_due_on,
                span.limit_working_days, span.committed_limit_working_days) == (
            "card_making", DESTINATION, D(2025, 11, 17), None, None, 10)
        result = engine.scan(D(2025, 12, 1))
        assert result.count("overdue") == 1 and result.count("statutory_breach") == 0
        engine.fire(card.id, "make_card", actor=DEST_CLERK, on=D(2025, 12, 1))
        assert engine.spans(card.id)[0].ended_on == D(2025, 12, 1)


def test_a_bulk_import_refuses_the_line_of_a_card_without_a_continued_pension(engine):
    """A file of applications (line 3: a person with no continued pension transfer) opens
    nothing and names the line."""
    continued_pension(engine)
    row = dict(definition="card_application", person_id=PERSON_ID, person_name="张三",
               destination=DESTINATION, applicant="self", documents=CARD_DOCUMENTS)
    before = snapshot(engine)
    with pytest.raises(InvalidRow, match="line 3: card_application can be opened only"):
        engine.open_cases([row, {**row, "person_id": "110108198001010015"}], actor=DEST_CLERK,
                          on=D(2025, 11, 3), first_line=2)
    assert snapshot(engine) == before
    [card_id] = engine.open_cases([row], actor=DEST_CLERK, on=D(2025, 11, 3))
    assert engine.linked_cases(card_id)[0].relation == "required"


# --- main's rules: one running transfer per person and insurance, two departments -----------
def test_a_card_application_is_not_the_persons_running_pension_transfer(engine):
    """Seed 000's one transfer at a time is about moving the relationship: a card application
    (insurance pension, but a service of one agency, not a transfer) never counts as the
    person's running pension transfer. A person with a running card application opens a new
    pension transfer, a person with a running pension transfer applies for a card, and a
    second running pension transfer is still refused."""
    continued_pension(engine)  # PERSON_ID's pension is at 440300 now
    card = open_card(engine)
    assert card.state == "applied"
    moving_on = open_case(engine, person_id=PERSON_ID, origin=DESTINATION, destination="110000")
    assert (moving_on.person_id, moving_on.state) == (PERSON_ID, "applied")
    refused(engine, TransferAlreadyRunning, open_case, engine, person_id=PERSON_ID,
            origin=DESTINATION, destination="120000")
    # vice versa: the pension transfer runs first, the card application opens beside it
    continued_pension(engine, person_id=OTHER_PERSON_ID)
    open_case(engine, person_id=OTHER_PERSON_ID, origin=DESTINATION, destination="110000")
    other_card = open_card(engine, person_id=OTHER_PERSON_ID)
    assert other_card.state == "applied"


def test_a_file_may_hold_a_persons_card_application_and_new_pension_transfer(engine):
    """A bulk import applies the same rule: one person's card application and pension
    transfer on two lines of one file both open (only a second transfer is refused)."""
    continued_pension(engine)
    card = dict(definition="card_application", person_id=PERSON_ID, person_name="张三",
                destination=DESTINATION, applicant="self", documents=CARD_DOCUMENTS)
    transfer = dict(definition="pension_transfer", person_id=PERSON_ID, person_name="张三",
                    origin="110000", destination=DESTINATION, applicant="employer",
                    documents=full_documents("pension_transfer"))
    ids = engine.open_cases([card, transfer], actor=DEST_CLERK, on=D(2025, 11, 3))
    assert [engine.get(i).definition for i in ids] == ["card_application", "pension_transfer"]
    before = snapshot(engine)
    with pytest.raises(InvalidRow, match=r"line 2: .*running pension"):
        engine.open_cases([card, transfer], actor=DEST_CLERK, on=D(2025, 11, 4), first_line=1)
    assert snapshot(engine) == before


def test_the_card_belongs_to_the_pension_department(engine):
    """Seed 000: "the transfer of pension insurance relationship is handled by social
    security bureau, and the transfer of medical insurance relationship is handled by
    medical insurance bureau. These are two different departments"; seed 004's card is
    handled by the social security agency: a medical-only clerk may neither open, read nor
    act on it; a pension clerk does."""
    continued_pension(engine)
    medical = Actor("m-5", "destination_clerk", DESTINATION, departments=("medical",))
    pension = Actor("c-12", "destination_clerk", DESTINATION, departments=("pension",))
    error = refused(engine, NotPermitted, open_card, engine, actor=medical)
    assert "pension department" in str(error)
    card = open_card(engine, actor=pension)
    with pytest.raises(CaseNotFound):
        engine.desk(Principal("m-5", "clerk", DESTINATION, departments=("medical",))).case(
            card.id)
    refused(engine, NotPermitted, engine.fire, card.id, "accept", actor=medical,
            on=D(2025, 11, 4))
    assert engine.fire(card.id, "accept", actor=pension, on=D(2025, 11, 4)).state == "accepted"
    pension_desk = engine.desk(Principal("c-12", "clerk", DESTINATION, departments=("pension",)))
    assert pension_desk.case(card.id).id == card.id


def test_both_case_pages_show_the_link_between_the_card_and_the_pension_transfer(engine):
    """Issue 20: "linked to that case (both case pages show the link)": the API's case view
    lists the linked case on each side, and the dashboard's case page links to it."""
    pension = continued_pension(engine)
    card = open_card(engine)
    token, _ = engine.access_service.create_token("c-12", "clerk", DESTINATION)
    with running(create_app(engine)) as site:
        headers = {"Authorization": f"Bearer {token}"}
        shown = httpx.get(f"{site}/api/v1/cases/{card.id}", headers=headers).json()
        assert shown["linked_cases"] == [{"case_id": pension.id, "definition": "pension_transfer",
                                          "version": 1, "state": "continued",
                                          "relation": "required"}]
        shown = httpx.get(f"{site}/api/v1/cases/{pension.id}", headers=headers).json()
        assert [(x["case_id"], x["relation"]) for x in shown["linked_cases"]] == [
            (card.id, "opened_after")]
        listed = httpx.get(f"{site}/api/v1/cases", headers=headers).json()["items"]
        assert {x["linked_cases"] for x in listed} == {None}
        with Browser(base_url=site) as client:
            client.sign_in(token)
            page = client.get(f"/cases/{card.id}").text
            back = client.get(f"/cases/{pension.id}").text
    assert "关联业务" in page and f'href="/cases/{pension.id}"' in page and "办理前提" in page
    assert "已接续" in page  # the pension state as people read it
    assert f'href="/cases/{card.id}"' in back and "后续业务" in back


def _definition_with(tmp_path: Path, name: str, old: str, new: str) -> Path:
    from workflow.loading import shipped_definitions_dir

    folder = tmp_path / "defs"
    shutil.copytree(shipped_definitions_dir(), folder)
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    return folder


@pytest.mark.parametrize(("old", "new", "message"), [
    ("roles: [destination_clerk]\n    guards", "roles: [origin_clerk]\n    guards",
     "a service has no origin agency: no origin_clerk step"),
    ("  definition: pension_transfer", "  definition: pension_transfers",
     "requires_case names no definition of this folder: 'pension_transfers'"),
    ("states: [continued]", "states: [finished]", "pension_transfer has no state 'finished'"),
    ("    committed_only: true", "    committed_only: true\n    limit_working_days: 15",
     "a committed_only span gives no statutory limit"),
])
def test_the_loader_refuses_a_card_definition_that_breaks_the_model(tmp_path, old, new,
                                                                    message):
    """The definition model's new keys are checked by the loader, with the file and line: a
    service has no origin step, requires_case names a definition and states of the folder,
    and a committed_only span names no statutory limit."""
    folder = _definition_with(tmp_path, "card_application.yaml", old, new)
    with pytest.raises(DefinitionError, match=r"card_application\.yaml, line \d+") as info:
        DefinitionSet(folder)
    assert message in str(info.value)


def test_the_new_definition_keys_leave_the_stored_versions_content_hashes_alone():
    """kind, requires_case and committed_only are added with defaults left out of the content
    hash, so every version stored before them keeps its hash (and the golden databases
    start): the transfers are kind transfer and none of their spans is committed_only."""
    definitions = DefinitionSet()
    for d in definitions:
        if d.name != "card_application":
            assert d.kind == "transfer" and d.requires_case is None
            assert not any(s.committed_only for s in d.spans)
    card = definitions.latest("card_application")
    assert (card.kind, card.requires_case.definition, card.requires_case.states) == (
        "service", "pension_transfer", ("continued",))


def test_the_demo_includes_card_applications(tmp_path):
    """Issue 20: "the demo's 300 cases include ... a card application": each linked to the
    continued pension transfer it needed."""
    from workflow.demo import build_demo

    with Engine(f"sqlite:///{tmp_path / 'demo.db'}") as engine:
        build_demo(engine, cases=100)
        cases = engine.cases()
        cards = [c for c in cases if c.definition == "card_application"]
        assert len(cases) == 100 and len(cards) == 1
        [link] = engine.linked_cases(cards[0].id)
        assert (link.definition, link.state, link.relation) == ("pension_transfer",
                                                                "continued", "required")


def test_the_open_command_opens_a_card_application_without_an_origin(run, db_url):
    """`sstransfer open card_application` takes no --origin (a service of one agency) and
    prints the case; with no continued pension transfer it is one line of refusal."""
    with Engine(db_url) as engine:
        args = ("open", "card_application", "--person-id", PERSON_ID, "--person-name", "张三",
                "--destination", DESTINATION, "--applicant", "self", "--actor", "c-12",
                "--role", "destination_clerk", "--agency", DESTINATION, "--on", "2025-11-03",
                "--document", "id_card", "--document", "one_inch_photo",
                "--document", "card_registration_form", "--json")
        done = run(*args, ok=False)
        assert "card_application can be opened only for a person whose pension_transfer" \
            in done.stderr
        continued_pension(engine)
    done = run(*args)
    assert '"scope": "local"' in done.stdout and '"definition": "card_application"' in done.stdout
