"""Fuzzing the public surface: random, mostly malformed values for every argument of
``open_case``, ``open_cases``, ``fire``, ``attach_documents`` and the CSV importer.

The rule each test pins: the only exceptions are :class:`WorkflowError` subclasses, and
after every refusal the database is exactly as before. Bounded (a few hundred examples per
entry point) and on SQLite only, with one engine per test function.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from conftest import (
    APPLICANT,
    DEST_CLERK,
    ORIGIN_CLERK,
    PERSON_ID,
    full_documents,
    open_case,
    snapshot,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workflow import Actor, Engine, WorkflowError, today
from workflow.importing import IMPORT_COLUMNS, read_applications
from workflow.testing import valid_person_id

FUZZ = settings(max_examples=200, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
D = dt.date
TRIGGERS = ["review", "reject", "request_documents", "resubmit", "send_letter", "move_funds",
            "continue_relationship", "withdraw"]
KINDS = [*full_documents("pension_transfer"), "information_form", "medical_insurance_card",
         "power_of_attorney", "identity_authentication", "contact_letter"]

# Malformed values of every kind a caller might pass by mistake (or on purpose).
hostile = st.sampled_from(["", " ", "\x00", "310000\n", "３１００００", "1e3", "[/]", "=1+1", "😀",
                           "a" * 300, "\ud800", "id_card\ud800", "2025-09-26", "20250926"])
scalars = [
    st.none(), st.booleans(), st.integers(), st.integers(min_value=10 ** 15),
    st.floats(allow_nan=True, allow_infinity=True), st.decimals(allow_nan=True),
    st.text(max_size=30), st.text(alphabet=st.characters(codec="utf-8"), max_size=8),
    hostile, st.binary(max_size=10), st.dates(), st.datetimes(),
]
# One flat choice (not nested ones), the structured values first: Hypothesis draws the
# first branches of a choice more often.
junk = st.one_of(
    st.lists(st.lists(st.integers()), min_size=1, max_size=2), st.lists(hostile, min_size=1, max_size=2),
    hostile, st.lists(st.one_of(*scalars), min_size=1, max_size=3),
    st.dictionaries(st.text(max_size=5), st.one_of(*scalars), min_size=1, max_size=2), *scalars,
)

codes = st.sampled_from(["310000", "440300", "110000", "３１００００", " 440100\n", "449999",
                         "110103"])
names = st.one_of(st.sampled_from(["张三", "阿依古丽·买买提", "Ольга"]), st.text(max_size=20))
# Mostly dates a step may have (after the fixture cases' last steps, not after today).
dates = st.one_of(st.dates(min_value=D(2025, 10, 20), max_value=today()),
                  st.dates(min_value=D(1995, 1, 1), max_value=D(2100, 1, 1)))
documents = st.lists(st.sampled_from(KINDS), max_size=6)
actor_values = st.sampled_from([APPLICANT, DEST_CLERK, ORIGIN_CLERK,
                                Actor("s-1", "supervisor", "440300"),
                                Actor("p-1", "self", person_id=PERSON_ID)])


@st.composite
def made_actors(draw) -> object:
    """An Actor made from plausible or malformed parts (or, if refused, a plain one)."""
    parts = {"id": st.sampled_from(["hr-7", "c-12", "o-3"]),
             "role": st.sampled_from(["employer", "self", "agent", "origin_clerk",
                                      "destination_clerk", "supervisor"]),
             "agency": codes, "person_id": st.sampled_from([None, PERSON_ID])}
    try:
        return Actor(**draw(arguments(parts)))
    except WorkflowError:
        return draw(actor_values)


actors = st.one_of(actor_values, made_actors())


@st.composite
def arguments(draw, plausible: dict[str, st.SearchStrategy]) -> dict[str, object]:
    """Plausible values for every argument but one or two (or a few), which are malformed:
    so that every check is reached, not only the first one."""
    names = sorted(plausible)
    count = draw(st.sampled_from([1, 1, 1, 0, 2, 3]))
    bad = draw(st.sets(st.sampled_from(names), min_size=count, max_size=count))
    return {n: draw(junk if n in bad else plausible[n]) for n in names}


def check(engine: Engine, call, *args, **kwargs) -> None:
    """The rule: a call succeeds, or raises a WorkflowError and writes nothing."""
    before = snapshot(engine)
    try:
        call(*args, **kwargs)
    except WorkflowError as exc:
        assert snapshot(engine) == before, f"{type(exc).__name__} wrote to the database"


@pytest.fixture
def fuzz_engine(tmp_path):
    with Engine(f"sqlite:///{tmp_path / 'fuzz.db'}") as engine:
        yield engine


OPEN = {
    "definition": st.sampled_from(["pension_transfer", "medical_transfer"]),
    "person_id": st.sampled_from([PERSON_ID, "１１０１０５１９４９１２３１００２X", "110105209912310011"]),
    "person_name": names, "origin": codes, "destination": codes,
    "applicant": st.sampled_from(["self", "employer", "agent"]),
    "channel": st.sampled_from(["counter", "online"]), "documents": documents,
    "actor": actors, "on": dates,
}


@FUZZ
@given(args=arguments(OPEN))
def test_open_case_raises_only_workflow_errors_and_a_refusal_writes_nothing(fuzz_engine, args):
    """Opening a case with any mix of plausible and malformed arguments succeeds or raises a
    WorkflowError, and a refusal leaves the database exactly as it was."""
    check(fuzz_engine, fuzz_engine.open_case, args.pop("definition"), **args)


application = st.fixed_dictionaries(
    {}, optional={k: v for k, v in OPEN.items() if k != "actor"} | {"colour": junk})


@FUZZ
@given(args=arguments({
    "applications": st.lists(st.one_of(arguments({k: v for k, v in OPEN.items() if k != "actor"}),
                                       application, junk), max_size=4),
    "actor": actors, "on": dates, "first_line": st.integers(-5, 5),
    "progress": st.sampled_from([None, lambda n: None]),
}))
def test_open_cases_raises_only_workflow_errors_and_a_refusal_writes_nothing(fuzz_engine, args):
    """A batch of applications, malformed in any part (rows, actor, date, first line), opens or
    raises a WorkflowError, and a refused batch writes nothing at all."""
    check(fuzz_engine, fuzz_engine.open_cases, args.pop("applications"), **args)


@pytest.fixture
def cases(fuzz_engine):
    """Cases in several states, to fire on."""
    # three people: one running transfer per person and insurance
    applied = open_case(fuzz_engine)
    letter = open_case(fuzz_engine, person_id=valid_person_id(seed=51))
    fuzz_engine.fire(letter.id, "review", actor=DEST_CLERK, on=D(2025, 10, 9))
    fuzz_engine.fire(letter.id, "send_letter", actor=DEST_CLERK, on=D(2025, 10, 10))
    moved = open_case(fuzz_engine, person_id=valid_person_id(seed=52))
    for trigger, actor, extra in [("review", DEST_CLERK, {}), ("send_letter", DEST_CLERK, {}),
                                  ("move_funds", ORIGIN_CLERK,
                                   {"documents": ["information_form"], "amount": 1})]:
        fuzz_engine.fire(moved.id, trigger, actor=actor, on=D(2025, 10, 20), **extra)
    return [applied.id, letter.id, moved.id, 999]


keys = itertools.count()


@FUZZ
@given(data=st.data())
def test_fire_raises_only_workflow_errors_and_a_refusal_writes_nothing(fuzz_engine, cases, data):
    """Firing any trigger with malformed arguments, on cases in several states or on no case,
    succeeds or raises a WorkflowError, and a refusal writes nothing."""
    args = data.draw(arguments({
        "case_id": st.sampled_from(cases), "trigger": st.sampled_from(TRIGGERS),
        "actor": actors, "on": dates, "documents": documents,
        "expected_version": st.one_of(st.none(), st.integers(0, 6)),
        "explanation": st.one_of(st.none(), names),
        "documents_needed": st.one_of(st.none(), documents),
        "amount": st.one_of(st.none(), st.decimals(places=2, min_value=0, max_value=10 ** 6)),
        "contribution_months": st.one_of(st.none(), st.integers(0, 800)),
        "idempotency_key": st.one_of(st.none(), st.builds(lambda: f"key-{next(keys)}"),
                                     st.just("key-same")),
    }))
    check(fuzz_engine, fuzz_engine.fire, args.pop("case_id"), args.pop("trigger"), **args)


@FUZZ
@given(data=st.data())
def test_attach_documents_raises_only_workflow_errors_and_a_refusal_writes_nothing(
        fuzz_engine, cases, data):
    """Attaching documents with malformed arguments succeeds or raises a WorkflowError, and a
    refusal writes nothing."""
    args = data.draw(arguments({
        "case_id": st.sampled_from(cases), "documents": documents, "actor": actors,
        "on": dates, "expected_version": st.one_of(st.none(), st.integers(0, 6)),
    }))
    check(fuzz_engine, fuzz_engine.attach_documents, args.pop("case_id"), args.pop("documents"),
          **args)


cell = st.one_of(st.sampled_from(["pension_transfer", PERSON_ID, "张三", "310000", "440300",
                                  "employer", "counter", "application_form;id_card",
                                  "2025-09-26", "20250926", "２０２５-０９-２６", ""]),
                 st.text(max_size=12))


@st.composite
def csv_files(draw) -> bytes:
    if draw(st.integers(0, 4)) == 0:
        return draw(st.binary(max_size=200))
    header = draw(st.one_of(st.just(list(IMPORT_COLUMNS)),
                            st.lists(st.sampled_from([*IMPORT_COLUMNS, "colour"]), max_size=10)))
    rows = draw(st.lists(st.lists(cell, max_size=len(header) + 1), max_size=4))
    text = "\r\n".join(",".join(r) for r in [header, *rows])
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16"]))
    return text.encode(encoding, errors="replace")


@FUZZ
@given(content=csv_files(), on=st.one_of(dates, junk))
def test_the_csv_importer_raises_only_workflow_errors_and_a_refusal_writes_nothing(
        fuzz_engine, tmp_path, content, on):
    """Reading and importing a CSV file of random bytes, headers and cells in any of four encodings
    opens its cases or raises a WorkflowError, and a refused file writes nothing."""
    path = tmp_path / "applications.csv"
    path.write_bytes(content)

    def import_file():
        return fuzz_engine.open_cases(read_applications(path), actor=DEST_CLERK, on=on,
                                      first_line=2)

    check(fuzz_engine, import_file)
