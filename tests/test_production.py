"""Many app instances at once: retries, idempotency, host transactions, bulk opening."""

from __future__ import annotations

import csv
import datetime as dt
import multiprocessing
import os
import subprocess
import sys

import pytest
import sqlalchemy as sa
from conftest import APPLICANT, DEST_CLERK, DESTINATION, full_documents, open_case, snapshot
from sqlmodel import Field, Session, SQLModel

from workflow import (
    ConcurrentUpdate,
    Engine,
    InvalidInput,
    InvalidRow,
    InvalidTransition,
    MissingDocuments,
    NotPermitted,
    WorkflowError,
    retry_on_conflict,
)
from workflow.demo import person_id

D = dt.date


# --- several processes on the same cases ----------------------------------------------------

def _worker(url, case_ids, barrier, results):
    with Engine(url) as engine:
        barrier.wait()
        won = conflicts = refused = 0
        for case_id in case_ids:
            try:
                retry_on_conflict(lambda cid=case_id: engine.attach_documents(
                    cid, ["id_card"], actor=DEST_CLERK, on=D(2025, 10, 9)), attempts=50)
                won += 1
            except ConcurrentUpdate:
                conflicts += 1
            try:
                engine.fire(case_id, "review", actor=DEST_CLERK, on=D(2025, 10, 9))
                won += 1
            except ConcurrentUpdate:
                conflicts += 1
            except InvalidTransition:  # another process reviewed it first
                refused += 1
        results.put((won, conflicts, refused))


def test_processes_firing_on_the_same_cases_apply_each_transition_exactly_once(engine, db_url):
    """4 processes race on 10 cases: history stays gap-free and every review happens once."""
    ids = [open_case(engine).id for _ in range(10)]
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(db_url, ids, barrier, results)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    outcomes = [results.get(timeout=5) for _ in procs]
    for case_id in ids:
        history = engine.history(case_id)
        assert [h.seq for h in history] == list(range(1, len(history) + 1))
        assert [h.trigger for h in history].count("review") == 1
        assert [h.trigger for h in history].count("attach_documents") == 4  # retried to success
        assert engine.get(case_id).version == len(history)
    assert sum(won for won, _, _ in outcomes) == 10 * 4 + 10
    assert sum(c + r for _, c, r in outcomes) == 10 * 3


def test_retry_on_conflict_gives_up_after_its_attempts():
    """retry_on_conflict calls a call that keeps meeting ConcurrentUpdate exactly as many times as
    its attempts, then lets the ConcurrentUpdate through."""
    calls = []

    def always():
        calls.append(1)
        raise ConcurrentUpdate(1, 1)

    with pytest.raises(ConcurrentUpdate):
        retry_on_conflict(always, attempts=3, delay=0)
    assert len(calls) == 3


# --- idempotency keys -----------------------------------------------------------------------

def test_a_retried_call_with_the_same_idempotency_key_returns_the_first_result(engine):
    """A call repeated with its idempotency key returns the first call's result and writes nothing
    the second time."""
    case = open_case(engine)
    first = engine.fire(case.id, "review", actor=DEST_CLERK, on=D(2025, 10, 9),
                        idempotency_key="req-1")
    before = snapshot(engine)
    again = engine.fire(case.id, "review", actor=DEST_CLERK, on=D(2025, 10, 9),
                        idempotency_key="req-1")
    assert again == first
    assert snapshot(engine) == before


def test_the_same_idempotency_key_with_other_arguments_is_refused(engine):
    """An idempotency key used again with other arguments is refused as already used for a
    different call, and nothing is written."""
    case = open_case(engine)
    engine.fire(case.id, "reject", actor=DEST_CLERK, on=D(2025, 10, 9), explanation="a",
                idempotency_key="req-2")
    before = snapshot(engine)
    with pytest.raises(InvalidInput, match="already used for a different call"):
        engine.fire(case.id, "reject", actor=DEST_CLERK, on=D(2025, 10, 9), explanation="b",
                    idempotency_key="req-2")
    assert snapshot(engine) == before


def test_a_refused_call_does_not_use_up_its_idempotency_key(engine):
    """A refused call leaves its idempotency key unused: the same key works once the documents the
    refusal named are attached."""
    case = open_case(engine, documents=["application_form"])
    with pytest.raises(MissingDocuments):
        engine.fire(case.id, "review", actor=DEST_CLERK, on=D(2025, 10, 9), idempotency_key="k")
    engine.attach_documents(case.id, full_documents("pension_transfer"), actor=APPLICANT,
                            on=D(2025, 10, 9))
    assert engine.fire(case.id, "review", actor=DEST_CLERK, on=D(2025, 10, 9),
                       idempotency_key="k").state == "reviewed"


def _send_with_one_key(url, case_ids, barrier, results, n):
    """One of four processes sending the same requests at once: for each case, a review with
    key ``same-<id>`` (the same call), then a rejection with key ``mine-<id>`` whose explanation
    differs by process; every other round goes through ``retry_on_conflict``."""
    with Engine(url) as engine:
        for round_, case_id in enumerate(case_ids):
            for key, trigger, extra in ((f"same-{case_id}", "review", {}),
                                        (f"mine-{case_id}", "reject", {"explanation": f"by {n}"})):
                if trigger == "reject":
                    case_id = case_id + len(case_ids)  # a second case for the second request

                def call(cid=case_id, key=key, trigger=trigger, extra=extra):
                    return engine.fire(cid, trigger, actor=DEST_CLERK, on=D(2025, 10, 9),
                                       idempotency_key=key, **extra)
                barrier.wait()
                try:
                    case = retry_on_conflict(call) if round_ % 2 else call()
                    results.put((key, "ok", case.to_dict()))
                except WorkflowError as exc:
                    results.put((key, type(exc).__name__, str(exc)))


def test_concurrent_duplicates_with_one_key_all_get_the_first_result_and_mismatches_are_refused(
        engine, db_url):
    """4 processes send each request at once: with the same arguments all four get the first
    call's result (one transition applied); with different arguments one wins and the three
    others are refused as "already used", never ConcurrentUpdate."""
    rounds = 6
    ids = [open_case(engine).id for _ in range(2 * rounds)]
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=_send_with_one_key,
                         args=(db_url, ids[:rounds], barrier, results, n)) for n in range(4)]
    for p in procs:
        p.start()
    got = [results.get(timeout=120) for _ in range(4 * 2 * rounds)]
    for p in procs:
        p.join(30)
    by_key: dict[str, list] = {}
    for key, outcome, detail in got:
        by_key.setdefault(key, []).append((outcome, detail))
    for case_id in ids[:rounds]:
        same = by_key[f"same-{case_id}"]
        assert [o for o, _ in same] == ["ok"] * 4, same
        assert all(detail == same[0][1] for _, detail in same)
        assert [h.trigger for h in engine.history(case_id)] == ["open", "review"]
    for case_id in ids[rounds:]:
        mine = sorted(by_key[f"mine-{case_id - rounds}"], key=lambda r: r[0] != "ok")
        assert [o for o, _ in mine] == ["ok"] + ["InvalidInput"] * 3, mine
        assert all("already used for a different call" in d for _, d in mine[1:])
        assert [h.trigger for h in engine.history(case_id)] == ["open", "reject"]


# --- the host application's own transaction -------------------------------------------------

class Memo(SQLModel, table=True):
    """A table of the host application, written in the same transaction as a transition."""

    __tablename__ = "host_memo"
    id: int | None = Field(default=None, primary_key=True)
    text: str


def test_a_transition_commits_and_rolls_back_with_the_host_session(engine):
    """A step fired in the host application's session is written only when the host commits that
    session, together with the host's own rows, and is gone when it rolls back."""
    case = open_case(engine)
    Memo.__table__.create(engine.db, checkfirst=True)
    with Session(engine.db) as session:
        engine.fire(case.id, "review", actor=DEST_CLERK, on=D(2025, 10, 9), session=session)
        session.add(Memo(text="reviewed by c-12"))
        session.rollback()
    assert engine.get(case.id).state == "applied"
    with Session(engine.db) as session:
        engine.fire(case.id, "review", actor=DEST_CLERK, on=D(2025, 10, 9), session=session)
        session.add(Memo(text="reviewed by c-12"))
        session.commit()
    assert engine.get(case.id).state == "reviewed"
    with engine.db.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(Memo.__table__)) == 1


# --- bulk opening ---------------------------------------------------------------------------

def application(n: int, **change) -> dict:
    row = dict(definition="pension_transfer", person_id=person_id(__import__("random").Random(n)),
               person_name=f"申请人{n}", origin="310000", destination=DESTINATION,
               applicant="employer", channel="counter",
               documents=full_documents("pension_transfer"), on=D(2025, 9, 26))
    row.update(change)
    return row


def test_many_cases_open_in_one_batch_with_their_spans(engine):
    """A batch of 50 applications opens 50 cases, each with its opening step and its review span due
    15 working days after receipt."""
    ids = engine.open_cases([application(n) for n in range(50)], actor=DEST_CLERK)
    assert len(ids) == 50 and len(set(ids)) == 50
    case = engine.get(ids[-1])
    assert (case.state, case.person_name) == ("applied", "申请人49")
    assert engine.spans(ids[0])[0].due_on == D(2025, 10, 23)
    assert [h.trigger for h in engine.history(ids[7])] == ["open"]


@pytest.mark.parametrize("bad, error", [
    ({"person_id": "110105194912310021"}, "not a valid resident ID number"),
    ({"origin": DESTINATION}, "the same agency"),
    ({"documents": ["passport"]}, "unknown document kind"),
    ({"definition": "car_transfer"}, "no workflow definition named"),
    ({"colour": "red"}, "colour"),
])
def test_a_bad_row_is_reported_by_its_line_and_nothing_of_the_batch_is_written(engine, bad, error):
    """One bad row of a batch (an invalid ID number, the same agency at both ends, an unknown
    document, definition or column) is named by its line and no case of the batch is opened."""
    rows = [application(n) for n in range(5)]
    rows[3].update(bad)
    before = snapshot(engine)
    with pytest.raises(InvalidRow, match=f"line 4: .*{error}") as info:
        engine.open_cases(rows, actor=DEST_CLERK)
    assert info.value.line == 4
    assert snapshot(engine) == before


def test_a_batch_is_refused_for_an_agency_its_clerk_does_not_belong_to(engine):
    """A batch row for another destination than the clerk's agency refuses the batch at that line,
    as NotPermitted."""
    rows = [application(0), application(1, destination="110000")]
    with pytest.raises(InvalidRow, match="line 2") as info:
        engine.open_cases(rows, actor=DEST_CLERK)
    assert isinstance(info.value.error, NotPermitted)


def test_the_import_command_opens_the_cases_of_a_csv_file(db_url, tmp_path):
    """sstransfer import opens every case of a CSV file and says how many; a file with one bad line
    exits 1 naming the line and opens none of its cases."""
    path = tmp_path / "applications.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["definition", "person_id", "person_name", "origin", "destination",
                      "applicant", "channel", "documents", "received_on"])
        for n in range(20):
            a = application(n)
            out.writerow([a["definition"], a["person_id"], a["person_name"], a["origin"],
                          a["destination"], a["applicant"], a["channel"], ";".join(a["documents"]),
                          "2025-09-26"])
    env = {**os.environ, "SSTRANSFER_DATABASE_URL": db_url}
    cmd = [sys.executable, "-m", "workflow.cli", "import", str(path), "--actor", "c-12",
           "--role", "destination_clerk", "--agency", DESTINATION]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "20 case(s) opened" in done.stdout
    with Engine(db_url) as engine:
        assert len(engine.cases()) == 20
        before = snapshot(engine)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[5] = lines[5].replace("pension_transfer", "car_transfer")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "line 6:" in done.stderr
    with Engine(db_url) as engine:
        assert snapshot(engine) == before
