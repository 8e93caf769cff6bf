"""The storage contract: what the services may rely on from every store (the ports of
:mod:`workflow.store.port`), checked on each implementation — SQLite and PostgreSQL.

These tests talk to the store only through its ports, with rows shaped as the services
write them; they pin the guarantees the services are built on (the optimistic version check,
ids in order, duplicate alerts skipped, leases exclusive and fencing).
"""

from __future__ import annotations

import datetime as dt
import time

import pytest

from workflow.errors import LeaseLost
from workflow.store import SqlStore, now
from workflow.store.port import (
    AccessStore,
    AlertStore,
    CaseStore,
    InboxStore,
    ReportStore,
    SchedulingStore,
)

D = dt.date


@pytest.fixture
def store(db_url):
    s = SqlStore.open(db_url)
    yield s
    s.close()


def case_row(n: int = 0, **overrides):
    stamp = now()
    row = dict(definition_name="pension_transfer", definition_version=1, insurance="pension",
               state="applied", version=1, person_id=f"11010519491231{n:03d}X"[:18],
               person_name=f"张{n}", origin="310000", destination="440300", scope="employee",
               applicant="employer", applicant_id="hr-7", channel="counter",
               origin_scheme=None, destination_scheme=None, documents=["transfer_application"],
               requested_documents=[], opened_on=D(2025, 9, 26), last_event_on=D(2025, 9, 26),
               amount_fen=None, contribution_months=None, created_at=stamp, updated_at=stamp)
    row.update(overrides)
    return row


DUE = D(2025, 10, 20)


def span_row(case_id: int, name: str = "review", due_on: dt.date = DUE, **overrides):
    row = dict(case_id=case_id, name=name, owner="destination", owner_agency="440300",
               limit_working_days=15, limit_months=None, started_on=D(2025, 9, 26),
               ended_on=None, due_on=due_on, provisional=False,
               committed_limit_working_days=None, committed_due_on=None, due_note=None,
               calendar_fingerprint=None)
    row.update(overrides)
    return row


def history_row(case_id: int, seq: int = 1, **overrides):
    row = dict(case_id=case_id, seq=seq, trigger="open", from_state=None, to_state="applied",
               actor_id="hr-7", actor_role="employer", actor_agency=None,
               business_date=D(2025, 9, 26), recorded_at=now(), documents=["a"],
               comment=None, inputs={})
    row.update(overrides)
    return row


def open_cases(store: CaseStore, n: int) -> list[int]:
    with store.transaction() as tx:
        ids = tx.insert_cases([case_row(i) for i in range(n)])
        tx.insert_history([history_row(i) for i in ids])
        tx.insert_spans([span_row(i) for i in ids])
    return ids


def test_the_sql_store_implements_every_port(store):
    """SqlStore's repositories are the implementations of the ports."""
    ports: list[tuple[object, type]] = [(store.cases, CaseStore), (store.alerts, AlertStore),
                                        (store.scheduling, SchedulingStore),
                                        (store.reports, ReportStore),
                                        (store.access, AccessStore), (store.inbox, InboxStore)]
    for repository, port in ports:
        missing = [name for name in dir(port) if not name.startswith("_")
                   and not callable(getattr(repository, name, None))]
        assert not missing, f"{type(repository).__name__} lacks {missing}"


def test_new_cases_get_their_ids_in_the_order_given(store):
    """insert_cases returns each new case's id, in the order of the rows."""
    ids = open_cases(store.cases, 250)
    assert ids == sorted(ids) and len(set(ids)) == 250
    names = [store.cases.case(i).person_name for i in ids]
    assert names == [f"张{i}" for i in range(250)]


def test_a_case_is_written_only_at_the_version_it_was_read(store):
    """update_case with a stale version writes nothing and says so."""
    [case_id] = open_cases(store.cases, 1)
    with store.cases.transaction() as tx:
        assert tx.update_case(case_id, 1, {"state": "reviewed", "version": 2})
    with store.cases.transaction() as tx:
        assert not tx.update_case(case_id, 1, {"state": "rejected", "version": 2})
    case = store.cases.case(case_id)
    assert (case.state, case.version) == ("reviewed", 2)


def test_a_transaction_that_raises_leaves_nothing(store):
    """Everything written in a failed transaction is rolled back."""
    [case_id] = open_cases(store.cases, 1)
    with pytest.raises(RuntimeError), store.cases.transaction() as tx:
        tx.update_case(case_id, 1, {"state": "reviewed", "version": 2})
        tx.insert_history([history_row(case_id, 2, trigger="review")])
        raise RuntimeError("after the writes")
    assert store.cases.case(case_id).state == "applied"
    assert [h.seq for h in store.cases.history(case_id)] == [1]


def test_ending_spans_by_name_ends_only_the_running_ones_called_so(store):
    """end_spans ends the running spans named, or all running spans for None."""
    [case_id] = open_cases(store.cases, 1)
    with store.cases.transaction() as tx:
        tx.insert_spans([span_row(case_id, "letter"), span_row(case_id, "funds")])
        tx.end_spans(case_id, ["letter"], D(2025, 10, 1))
    ended = {s.name: s.ended_on for s in store.cases.spans(case_id)}
    assert ended == {"review": None, "letter": D(2025, 10, 1), "funds": None}
    with store.cases.transaction() as tx:
        tx.end_spans(case_id, None, D(2025, 10, 2))
    assert all(s.ended_on is not None for s in store.cases.spans(case_id))


def test_an_idempotency_key_is_claimed_once_and_then_answers_with_the_first_result(store):
    """The first claim gets None (it is ours); a later one gets the stored result."""
    [case_id] = open_cases(store.cases, 1)
    with store.cases.transaction() as tx:
        assert tx.claim_idempotency_key("k1", case_id, "hash", now()) is None
        tx.record_idempotent_result("k1", {"state": "reviewed"})
    with store.cases.transaction() as tx:
        first = tx.claim_idempotency_key("k1", case_id, "other", now())
    assert (first.request_hash, first.result) == ("hash", {"state": "reviewed"})


def test_an_alert_exists_once_however_often_it_is_inserted(store, tmp_path):
    """insert_alerts skips an alert whose key exists and returns only the new ones."""
    [case_id] = open_cases(store.cases, 1)
    stamp = now()
    row = dict(key=f"span:1:overdue:{case_id}", level="overdue", case_id=case_id, span_id=None,
               subject="review", owner="destination", owner_agency="440300",
               due_on=D(2025, 10, 20), working_days_late=2, provisional=False,
               as_of=D(2025, 10, 22), raised_at=stamp, run_id=None)
    assert len(store.alerts.insert_alerts([row], None)) == 1
    assert store.alerts.insert_alerts([row], None) == []
    [alert] = store.alerts.alerts(case_id=case_id)
    assert (alert.level, alert.working_days_late) == ("overdue", 2)


def test_alerts_are_read_by_province_and_newest_first_when_asked(store):
    """A province supervisor's alerts are those of the agencies whose code starts with the
    province; ``newest_first`` with a limit gives the latest ones."""
    [case_id] = open_cases(store.cases, 1)
    rows = [dict(key=f"k{n}", level="overdue", case_id=case_id, span_id=None, subject="review",
                 owner="destination", owner_agency=agency, due_on=D(2025, 10, 20),
                 working_days_late=n, provisional=False, as_of=D(2025, 10, 22), raised_at=now(),
                 run_id=None)
            for n, agency in enumerate(["440300", "310000", "440100", "440300"])]
    store.alerts.insert_alerts(rows, None)
    assert [a.owner_agency for a in store.alerts.alerts(province="44")] == [
        "440300", "440100", "440300"]
    assert [a.working_days_late for a in store.alerts.alerts(newest_first=True, limit=2)] == [3, 2]


def test_a_lease_is_held_by_one_holder_until_it_expires(store):
    """take_lease gives the lease to one holder; another gets None while it runs."""
    first, _ = store.scheduling.take_lease("scan", "a", 30)
    second, _ = store.scheduling.take_lease("scan", "b", 30)
    assert first is not None and second is None
    store.scheduling.release_lease(first)
    third, _ = store.scheduling.take_lease("scan", "b", 30)
    assert third is not None and third.generation == first.generation + 1


def test_a_run_whose_lease_was_taken_over_cannot_write(store):
    """Every write of a run is fenced by its lease's generation: LeaseLost after a takeover."""
    lease, _ = store.scheduling.take_lease("scan", "a", 0.001)
    run_id = store.scheduling.start_run(lease, D(2025, 10, 22))
    time.sleep(0.01)
    taken, abandoned = store.scheduling.take_lease("scan", "b", 30)
    assert taken is not None and [r[0] for r in abandoned] == [run_id]
    with pytest.raises(LeaseLost):
        store.scheduling.finish_run(lease, run_id, "done", "late")
    assert store.scheduling.runs("scan")[0].status == "abandoned"


def test_the_report_store_counts_spans_past_the_date_they_are_judged_by(store):
    """A running span is overdue after its committed due date where it has one."""
    ids = open_cases(store.cases, 2)
    with store.cases.transaction() as tx:
        tx.end_spans(ids[0], None, D(2025, 10, 1))
        tx.insert_spans([span_row(ids[1], "letter", due_on=D(2025, 11, 30),
                                  committed_due_on=D(2025, 10, 10))])
    as_of = D(2025, 10, 25)
    assert store.reports.overdue_count(as_of) == 2  # ids[1]'s review, and its letter
    judged = sorted(j for _, j, _ in store.reports.overdue_due_dates(as_of))
    assert judged == [D(2025, 10, 10), D(2025, 10, 20)]
    assert store.reports.closed_in_period(D(2025, 9, 26), as_of) == [("440300", 1, 1, 1)]
