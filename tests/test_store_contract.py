"""The storage contract: what the services may rely on from every store (the ports of
:mod:`workflow.ports`), checked on each implementation — SQLite and PostgreSQL.

These tests talk to the store only through its ports, with the typed records the services
write (:mod:`workflow.records`) and the query objects of :mod:`workflow.core.queries`; they
pin the guarantees the services are built on (the optimistic version check, ids in order,
duplicate alerts skipped, leases exclusive and fencing, each query's scope applied in SQL).
"""

from __future__ import annotations

import datetime as dt
import inspect
import itertools
import time
from decimal import Decimal

import pytest

from workflow import ports
from workflow.core.queries import NOBODY, AlertQuery, CaseQuery, InboxQuery
from workflow.errors import LeaseLost
from workflow.ports import (
    AccessStore,
    AlertStore,
    CaseStore,
    InboxStore,
    OutboxStore,
    ReportStore,
    SchedulingStore,
)
from workflow.records import (
    CaseReads,
    CaseUpdate,
    NewAlert,
    NewCase,
    NewHistoryEntry,
    NewSpan,
    SpanUpdate,
    now,
)
from workflow.services.cases import new_public_number
from workflow.store import SqlStore
from workflow.store.statements import COPY_FROM

D = dt.date
DUE = D(2025, 10, 20)
OPENED = D(2025, 9, 26)


@pytest.fixture
def store(db_url):
    s = SqlStore.open(db_url)
    yield s
    s.close()


def new_case(n: int = 0, **overrides) -> NewCase:
    stamp = now()
    fields = dict(definition_name="pension_transfer", definition_version=1,
                  insurance="pension", state="applied", person_id=f"11010519491231{n:03d}X"[:18],
                  person_name=f"张{n}", origin="310000", destination="440300", scope="employee",
                  applicant="employer", applicant_id="hr-7", channel="counter",
                  origin_scheme=None, destination_scheme=None,
                  documents=["transfer_application"], opened_on=OPENED, last_event_on=OPENED,
                  created_at=stamp, updated_at=stamp, public_number=new_public_number())
    fields.update(overrides)
    return NewCase(**fields)


def new_span(name: str = "review", due_on: dt.date = DUE, **overrides) -> NewSpan:
    fields = dict(name=name, owner="destination", owner_agency="440300",
                  limit_working_days=15, limit_months=None, started_on=OPENED, due_on=due_on,
                  provisional=False, committed_limit_working_days=None, committed_due_on=None,
                  due_note=None, calendar_fingerprint="2025:x")
    fields.update(overrides)
    return NewSpan(**fields)


def opening(case_id: int, seq: int = 1, **overrides) -> NewHistoryEntry:
    fields = dict(case_id=case_id, seq=seq, trigger="open", from_state=None,
                  to_state="applied", actor_id="hr-7", actor_role="employer", actor_agency=None,
                  business_date=OPENED, recorded_at=now(), documents=["a"], comment=None,
                  inputs={})
    fields.update(overrides)
    return NewHistoryEntry(**fields)


#: Each case opened by :func:`open_cases` is its own person's (one running transfer per person
#: and insurance), across calls too.
_PEOPLE = itertools.count()


def open_cases(store: CaseStore, n: int, **overrides) -> list[int]:
    cases = [new_case(i, **{"person_id": f"99{next(_PEOPLE):016d}", **overrides})
             for i in range(n)]
    with store.transaction() as tx:
        ids = tx.insert_cases(cases, [[new_span()] for _ in cases])
        tx.insert_history([opening(i) for i in ids])
    return ids


def alert(case_id: int, n: int = 0, agency: str = "440300", **overrides) -> NewAlert:
    fields = dict(level="overdue", case_id=case_id, span_id=None, subject="review",
                  owner="destination", owner_agency=agency, due_on=DUE, working_days_late=n,
                  provisional=False, as_of=D(2025, 10, 22), raised_at=now(), run_id=None)
    fields.update(overrides)
    return NewAlert(**fields)


def test_the_sql_store_implements_every_port(store):
    """SqlStore's repositories are the implementations of the ports."""
    implemented: list[tuple[object, type]] = [
        (store.cases, CaseStore), (store.alerts, AlertStore),
        (store.scheduling, SchedulingStore), (store.reports, ReportStore),
        (store.access, AccessStore), (store.inbox, InboxStore), (store.outbox, OutboxStore)]
    for repository, port in implemented:
        missing = [name for name in dir(port) if not name.startswith("_")
                   and not callable(getattr(repository, name, None))]
        assert not missing, f"{type(repository).__name__} lacks {missing}"


def test_every_port_method_is_documented_and_speaks_typed_records():
    """Each method of a port says what it does, and no signature takes or returns ``Any``
    or a mapping of column names (free-form JSON is the named ``JsonObject``)."""
    protocols = [v for v in vars(ports).values()
                 if inspect.isclass(v) and v.__module__ == ports.__name__]
    assert len(protocols) >= 9
    for protocol in protocols:
        for name, method in vars(protocol).items():
            if name.startswith("_") or not callable(method):
                continue
            where = f"{protocol.__name__}.{name}"
            assert inspect.getdoc(method), f"{where} has no docstring"
            for annotation in method.__annotations__.values():
                assert "Any" not in str(annotation), f"{where}: {annotation}"
                assert "Mapping" not in str(annotation), f"{where}: {annotation}"


def test_new_cases_get_their_ids_in_the_order_given(store):
    """insert_cases returns each new case's id, in the order of the cases."""
    ids = open_cases(store.cases, 250)
    assert ids == sorted(ids) and len(set(ids)) == 250
    names = [store.cases.case(i).person_name for i in ids]
    assert names == [f"张{i}" for i in range(250)]


def test_a_new_case_is_read_back_with_its_first_spans(store):
    """What insert_cases wrote comes back field by field: the case (version 1, nothing
    requested, no amount) and the spans given with it, under the new case's id."""
    case = new_case(7)
    with store.cases.transaction() as tx:
        [case_id] = tx.insert_cases([case], [[new_span("review"), new_span("letter")]])
    stored = store.cases.case(case_id)
    assert stored == case.stored(case_id)
    assert (stored.version, stored.requested_documents, stored.amount_fen) == (1, [], None)
    assert [s.name for s in store.cases.spans(case_id)] == ["review", "letter"]


def test_a_case_is_written_only_at_the_version_it_was_read(store):
    """update_case with a stale version writes nothing and says so."""
    [case_id] = open_cases(store.cases, 1)
    with store.cases.transaction() as tx:
        assert tx.update_case(case_id, 1, CaseUpdate(2, OPENED, now(), state="reviewed"))
    with store.cases.transaction() as tx:
        assert not tx.update_case(case_id, 1, CaseUpdate(2, OPENED, now(), state="rejected"))
    case = store.cases.case(case_id)
    assert (case.state, case.version) == ("reviewed", 2)


def test_a_case_update_changes_what_it_names_and_stores_the_amount_in_fen(store):
    """Fields of a CaseUpdate left None are unchanged; the amount in yuan is stored in fen;
    the row a step reads next, and the case it computed, are what was written."""
    [case_id] = open_cases(store.cases, 1)
    with store.cases.transaction() as tx:
        row = tx.row_for_step(case_id)
        change = CaseUpdate(2, D(2025, 10, 9), now(), documents=["a", "b"],
                            amount=Decimal("12345.67"), contribution_months=180)
        assert tx.update_case(case_id, 1, change)
        after = tx.row_for_step(case_id)
    assert (after.state, after.documents, after.amount_fen, after.contribution_months) == (
        "applied", ["a", "b"], 1234567, 180)
    assert after.opened_on == OPENED and after.last_event_on == D(2025, 10, 9)
    assert store.cases.case(case_id) == change.applied_to(row)


def test_a_transaction_that_raises_leaves_nothing(store):
    """Everything written in a failed transaction is rolled back."""
    [case_id] = open_cases(store.cases, 1)
    with pytest.raises(RuntimeError), store.cases.transaction() as tx:
        tx.update_case(case_id, 1, CaseUpdate(2, OPENED, now(), state="reviewed"))
        tx.insert_history([opening(case_id, 2, trigger="review")])
        raise RuntimeError("after the writes")
    assert store.cases.case(case_id).state == "applied"
    assert [h.seq for h in store.cases.history(case_id)] == [1]


def test_ending_spans_by_name_ends_only_the_running_ones_called_so(store):
    """end_spans ends the running spans named, or all running spans for None."""
    [case_id] = open_cases(store.cases, 1)
    with store.cases.transaction() as tx:
        tx.insert_spans(case_id, [new_span("letter"), new_span("funds")])
        tx.end_spans(case_id, ["letter"], D(2025, 10, 1))
    ended = {s.name: s.ended_on for s in store.cases.spans(case_id)}
    assert ended == {"review": None, "letter": D(2025, 10, 1), "funds": None}
    with store.cases.transaction() as tx:
        tx.end_spans(case_id, None, D(2025, 10, 2))
    assert all(s.ended_on is not None for s in store.cases.spans(case_id))


def test_a_correction_moves_a_span_s_start_with_its_due_dates_or_its_end(store):
    """update_span moves what the SpanUpdate names and leaves the rest; the steps and spans
    a correction reads come newest first."""
    from workflow.core.deadlines import SpanDue

    [case_id] = open_cases(store.cases, 1)
    with store.cases.transaction() as tx:
        tx.insert_history([opening(case_id, 2, trigger="review", to_state="reviewed")])
        [review] = tx.spans_newest_first(case_id)
        due = SpanDue(D(2025, 10, 24), True, 10, D(2025, 10, 17), "moved", "2025:y")
        tx.update_span(review.id, SpanUpdate(started_on=D(2025, 9, 30), due=due))
        tx.insert_spans(case_id, [new_span("letter")])
        letter = tx.spans_newest_first(case_id)[0]
        tx.update_span(letter.id, SpanUpdate(ended_on=D(2025, 10, 3)))
        assert [s.trigger for s in tx.last_steps(case_id, "review", 2)] == ["open"]
        assert [s.seq for s in tx.last_steps(case_id, "none", 2)] == [2, 1]
    spans = {s.name: s for s in store.cases.spans(case_id)}
    assert (spans["review"].started_on, spans["review"].due_on, spans["review"].provisional,
            spans["review"].committed_due_on, spans["review"].due_note) == (
        D(2025, 9, 30), D(2025, 10, 24), True, D(2025, 10, 17), "moved")
    assert (spans["letter"].started_on, spans["letter"].ended_on) == (OPENED, D(2025, 10, 3))


def test_an_idempotency_key_is_claimed_once_and_then_answers_with_the_first_result(store):
    """The first claim gets None (it is ours); a later one gets the stored result."""
    [case_id] = open_cases(store.cases, 1)
    with store.cases.transaction() as tx:
        assert tx.claim_idempotency_key("k1", case_id, "hash", now()) is None
        tx.record_idempotent_result("k1", {"state": "reviewed"})
    with store.cases.transaction() as tx:
        first = tx.claim_idempotency_key("k1", case_id, "other", now())
    assert (first.request_hash, first.result) == ("hash", {"state": "reviewed"})


def test_the_case_query_applies_every_field_and_its_scope_in_sql(store):
    """CaseQuery's filters and scope are conditions of the store's query: an applicant's
    own cases by applicant kind and id (or by person for ``self``), agencies by origin or
    destination, a province by prefix, a page by limit and offset."""
    mine = open_cases(store.cases, 3)
    [theirs] = open_cases(store.cases, 1, applicant_id="hr-8", origin="320100")

    def ids(**fields):
        return [c.id for c in store.cases.cases(CaseQuery(**fields))]

    assert ids(applicant="employer", applicant_id="hr-7") == mine
    assert ids(applicant="employer", applicant_id=NOBODY) == []
    assert ids(agencies=("320100",)) == [theirs]
    assert ids(province="32") == [theirs] and ids(province="44") == [*mine, theirs]
    assert ids(limit=2, offset=1) == mine[1:]
    assert ids(state="applied", insurance="medical") == []


def test_the_case_search_filters_sorts_and_counts_in_sql(store):
    """The search's fields are conditions of the store's query on every backend: the ID
    number whole (equality) or by its last characters, part of the name, the case number, a
    running span due in a range, a stored alert's level; ``sort`` by a column or by the
    soonest due date (cases with none last), descending with ``-``; ``count_cases`` counts
    every match, the page aside."""
    cases = [new_case(i) for i in range(3)]
    with store.cases.transaction() as tx:
        ids = tx.insert_cases(cases, [[new_span(due_on=DUE + dt.timedelta(days=10 - i))]
                                      for i in range(2)] + [[]])
        tx.insert_history([opening(i) for i in ids])
        [span] = [x.id for x in tx.spans_newest_first(ids[1])]
    store.alerts.insert_alerts([alert(ids[1], span_id=span, level="escalated")], None)

    def found(**fields):
        return [c.id for c in store.cases.cases(CaseQuery(**fields))]

    assert found(person_id_ending="001X") == [ids[1]]
    assert found(person_id_ending="11010519491231002X") == [ids[2]]
    assert found(person_id_ending="9999") == []
    assert found(person_name="张") == ids and found(person_name="1") == [ids[1]]
    assert found(public_number=cases[2].public_number) == [ids[2]]
    assert found(due_from=DUE + dt.timedelta(days=10)) == [ids[0]]
    assert found(due_to=DUE + dt.timedelta(days=9)) == [ids[1]]
    assert found(level="escalated") == [ids[1]] and found(level="due_soon") == []
    assert found(sort="-person_name") == ids[::-1]
    assert found(sort="due_on") == [ids[1], ids[0], ids[2]]
    assert found(sort="-due_on") == [ids[0], ids[1], ids[2]]
    assert store.cases.count_cases(CaseQuery(person_name="张", limit=1)) == 3
    assert store.cases.count_cases(CaseQuery(person_id_ending="000X")) == 1


def test_a_count_by_place_counts_each_case_once_whichever_end_is_there(store):
    """``count_cases`` of an agency, agencies or a province (counted as the cases whose origin
    is there plus those whose destination is there but not their origin) equals the number
    of cases listed: a case with both ends there is counted once, one with neither not at all,
    with the other filters and a second place applied too."""
    open_cases(store.cases, 2)  # 310000 → 440300
    open_cases(store.cases, 1, origin="440100")  # both ends in province 44
    open_cases(store.cases, 1, origin="440300", destination="320100")
    open_cases(store.cases, 1, origin="320100", destination="330100", insurance="medical")
    open_cases(store.cases, 1, origin="440300", destination="440300", state="reviewed")
    queries = [CaseQuery(**fields) for fields in (
        dict(province="44"), dict(province="32"), dict(province="31"), dict(province="11"),
        dict(agency="440300"), dict(agency="320100"), dict(agencies=("440100", "330100")),
        dict(province="44", state="applied"), dict(province="32", insurance="medical"),
        dict(agency="440300", province="32"), dict(agency="440300", province="44"),
        dict(agencies=("440300",), province="31", person_name="张"), dict())]
    counts = [store.cases.count_cases(q) for q in queries]
    assert counts == [len(store.cases.cases(q)) for q in queries]
    assert counts[:7] == [5, 2, 2, 0, 5, 2, 2]


def test_an_alert_exists_once_however_often_it_is_inserted(store):
    """insert_alerts skips an alert whose span and level (or whose case, for an advisory)
    exist already, and returns only the new ones."""
    [case_id] = open_cases(store.cases, 1)
    with store.cases.transaction() as tx:
        [span] = [s.id for s in tx.spans_newest_first(case_id)]
    span_alert = alert(case_id, 2, span_id=span)
    advisory = alert(case_id, level="advisory", subject="different_place_registration",
                     owner="person", due_on=None, working_days_late=None)
    assert len(store.alerts.insert_alerts([span_alert, advisory], None)) == 2
    assert store.alerts.insert_alerts([span_alert, advisory], None) == []
    assert store.alerts.insert_alerts([alert(case_id, 3, span_id=span, level="escalated")],
                                      None)[0].level == "escalated"
    assert [(a.level, a.working_days_late) for a in
            store.alerts.alerts(AlertQuery(case_id=case_id))] == [
        ("overdue", 2), ("advisory", None), ("escalated", 3)]


def test_a_scan_s_many_alerts_are_each_inserted_once_with_one_event_each(store):
    """A batch as large as a scan's (PostgreSQL writes it by COPY from COPY_FROM rows)
    skips the alerts that exist already and returns the new ones with their own ids; each new
    alert has one ``alert.raised`` event, in the same transaction."""
    n = COPY_FROM + 10
    ids = open_cases(store.cases, n)
    with store.cases.transaction() as tx:
        spans = [tx.spans_newest_first(case_id)[0].id for case_id in ids]
    batch = [alert(case_id, i, span_id=span) for i, (case_id, span) in enumerate(zip(
        ids, spans, strict=True))]
    first = store.alerts.insert_alerts(batch[:7], None)
    new = store.alerts.insert_alerts(batch, None)
    assert [a.case_id for a in first + new] == ids
    stored = {a.id: (a.case_id, a.working_days_late) for a in store.alerts.alerts(
        AlertQuery(limit=2 * n))}
    assert {a.id: (a.case_id, a.working_days_late) for a in first + new} == stored
    events = store.outbox.events(limit=2 * n)
    assert sorted(e.data["alert_id"] for e in events if e.name == "alert.raised") == \
        sorted(stored)


def test_alerts_are_read_by_province_and_newest_first_when_asked(store):
    """A province supervisor's alerts are those of the agencies whose code starts with the
    province; ``newest_first`` with a limit gives the latest ones."""
    [case_id] = open_cases(store.cases, 1)
    store.alerts.insert_alerts([alert(case_id, n, agency, subject=f"s{n}") for n, agency in
                                enumerate(["440300", "310000", "440100", "440300"])], None)
    assert [a.owner_agency for a in store.alerts.alerts(AlertQuery(province="44"))] == [
        "440300", "440100", "440300"]
    assert [a.working_days_late for a in
            store.alerts.alerts(AlertQuery(newest_first=True, limit=2))] == [3, 2]


def test_an_applicant_s_alerts_are_those_of_their_own_cases_only(store):
    """AlertQuery's applicant scope is applied in SQL on the alert's case: an employer reads
    the alerts of the cases they opened (by applicant id), a person applying for themselves
    those of their own ID number; another applicant's, and a scope that names nobody, none."""
    mine = open_cases(store.cases, 2)
    [theirs] = open_cases(store.cases, 1, applicant_id="hr-8")
    [own] = open_cases(store.cases, 1, applicant="self", applicant_id=None,
                       person_id="11010519491231002X")
    store.alerts.insert_alerts([alert(i, n, subject=f"s{i}") for n, i in
                                enumerate([*mine, theirs, own])], None)

    def cases_of(**scope):
        return [a.case_id for a in store.alerts.alerts(AlertQuery(**scope))]

    assert cases_of(applicant="employer", applicant_id="hr-7") == mine
    assert cases_of(applicant="employer", applicant_id="hr-8") == [theirs]
    assert cases_of(applicant="self", person_id="11010519491231002X") == [own]
    assert cases_of(applicant="self", person_id=NOBODY) == []
    assert cases_of(applicant="agent", applicant_id="hr-7") == []


def test_the_applicant_scope_of_alerts_narrows_the_other_filters(store):
    """The scope is added to the caller's filters (level, case, limit, order), never widening
    them: the applicant's alerts at one level, of one case, the newest first."""
    mine = open_cases(store.cases, 2)
    [theirs] = open_cases(store.cases, 1, applicant_id="hr-8")
    store.alerts.insert_alerts([alert(i, n, subject=f"s{i}", level=level) for n, (i, level) in
                                enumerate([(mine[0], "overdue"), (mine[1], "escalated"),
                                           (theirs, "escalated")])], None)
    scope = {"applicant": "employer", "applicant_id": "hr-7"}
    assert [a.case_id for a in store.alerts.alerts(AlertQuery(level="escalated", **scope))] \
        == [mine[1]]
    assert store.alerts.alerts(AlertQuery(case_id=theirs, **scope)) == []
    assert [a.case_id for a in store.alerts.alerts(
        AlertQuery(newest_first=True, limit=1, **scope))] == [mine[1]]


def test_the_inbox_query_pages_the_running_spans_of_its_agencies(store):
    """InboxQuery: running spans owned by its agencies (or province), counted whole, soonest
    due first, one page at a time, each with its case."""
    ids = open_cases(store.cases, 3)
    with store.cases.transaction() as tx:
        tx.insert_spans(ids[0], [new_span("letter", D(2025, 10, 1), owner_agency="310000")])
        tx.end_spans(ids[2], None, D(2025, 10, 1))
    total, page = store.inbox.running_spans(InboxQuery(D(2025, 10, 2), agencies=("440300",),
                                                       limit=1))
    assert total == 2 and [(s.case_id, s.name, s.person_name) for s in page] == [
        (ids[0], "review", "张0")]
    total, page = store.inbox.running_spans(InboxQuery(D(2025, 10, 2), province="31"))
    assert total == 1 and [(s.case_id, s.owner_agency) for s in page] == [(ids[0], "310000")]


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
    assert taken is not None and [(r.id, r.holder) for r in abandoned] == [(run_id, "a")]
    with pytest.raises(LeaseLost):
        store.scheduling.finish_run(lease, run_id, "done", "late")
    [run] = store.scheduling.runs("scan")
    assert (run.status, run.holder, run.as_of) == ("abandoned", "a", D(2025, 10, 22))


def test_the_report_store_counts_spans_past_the_date_they_are_judged_by(store):
    """A running span is overdue after its committed due date where it has one."""
    ids = open_cases(store.cases, 2)
    with store.cases.transaction() as tx:
        tx.end_spans(ids[0], None, D(2025, 10, 1))
        tx.insert_spans(ids[1], [new_span("letter", due_on=D(2025, 11, 30),
                                          committed_due_on=D(2025, 10, 10))])
    as_of = D(2025, 10, 25)
    assert store.reports.overdue_count(as_of) == 2  # ids[1]'s review, and its letter
    judged = sorted(j for _, j, _ in store.reports.overdue_due_dates(as_of))
    assert judged == [D(2025, 10, 10), D(2025, 10, 20)]
    [closed] = store.reports.closed_in_period(D(2025, 9, 26), as_of)
    assert (closed.agency, closed.closed, closed.on_time, closed.within_statute) == (
        "440300", 1, 1, 1)
    assert [(r.case_id, r.name, r.person_name) for r in store.reports.overdue_rows(as_of)] == [
        (ids[1], "review", "张1"), (ids[1], "letter", "张1")]


def test_a_read_is_one_entry_naming_its_cases_found_again_by_any_of_them(store):
    """log_reads writes one access-log entry per CaseReads: of its one case (``case_id``), or
    naming its many (``cases``), found again by each; a read of none is a refused read of
    something that is not a case. Newest first; a supervisor's scope sees the entries of its
    cases and of its agency's readers."""
    ids = open_cases(store.cases, 3)
    stamp = now()
    store.access.log_reads(CaseReads(stamp, "c-1", "clerk", "440300", (ids[0],), "case", "api"))
    store.access.log_reads(CaseReads(stamp, "c-1", "clerk", "440300", tuple(ids), "report",
                                     "api"))
    store.access.log_reads(CaseReads(stamp, "c-9", "clerk", "110105", (), "outbox (denied)",
                                     "api"))
    assert [(e.case_id, e.cases, e.view) for e in store.access.access_log()] == [
        (None, [], "outbox (denied)"), (None, ids, "report"), (ids[0], [ids[0]], "case")]
    assert [e.view for e in store.access.access_log(case_id=ids[2])] == ["report"]
    assert [e.view for e in store.access.access_log(case_id=ids[0])] == ["report", "case"]
    # A number that is part of another (1 in 12) is not that case.
    assert store.access.access_log(case_id=int(f"{ids[2]}0")) == []
    # 110105's supervisors see their clerk's refused read; 440300's the reads of its cases.
    assert [e.view for e in store.access.access_log(agencies=["110105"])] == ["outbox (denied)"]
    assert [e.view for e in store.access.access_log(agencies=["440300"])] == ["report", "case"]
    assert [e.view for e in store.access.access_log(province="44", case_id=ids[1])] == [
        "report"]
    assert store.access.access_log(agencies=["110105"], case_id=ids[1]) == []


def test_progress_tries_back_off_doubling_per_client_and_number_and_the_budget_is_per_window(
        store):
    """claim_try/judged_try: a client's failures on one number make its next try wait from
    the ``free``-th on, doubling each time up to the longest; a match clears them; another
    client or number is not held back; the client's budget of tries renews with the window."""
    t0 = now()
    window, hold = dt.timedelta(minutes=15), dt.timedelta(seconds=10)
    limits = dict(free=2, backoff=dt.timedelta(seconds=30), longest=window, window=window)
    access = store.access

    def fail(client: str, at: dt.datetime) -> dt.datetime | None:
        refused = access.claim_try(client, "N1", at, window=window, tries=100, hold=hold)
        if refused is None:
            access.judged_try(client, "N1", False, at, **limits)
        return refused

    assert fail("a", t0) is None and fail("a", t0) is None  # the free failures
    assert access.claim_try("a", "N1", t0, window=window, tries=100, hold=hold) \
        == t0 + dt.timedelta(seconds=30)
    assert access.claim_try("b", "N1", t0, window=window, tries=100, hold=hold) is None
    assert access.claim_try("a", "N2", t0, window=window, tries=100, hold=hold) is None
    t1 = t0 + dt.timedelta(seconds=30)
    assert fail("a", t1) is None
    assert access.claim_try("a", "N1", t1, window=window, tries=100, hold=hold) \
        == t1 + dt.timedelta(seconds=60)
    # Failing on whenever allowed, the wait doubles up to the window (15 min), no further.
    at, waits = t1 + dt.timedelta(seconds=60), []
    for _ in range(6):
        assert fail("a", at) is None
        until = access.claim_try("a", "N1", at, window=window, tries=100, hold=hold)
        waits.append((until - at).total_seconds())
        at = until
    assert waits == [120, 240, 480, 900, 900, 900]
    # A failure a window and the longest wait after the last counts as the first again; a
    # match clears them all.
    at += 2 * window
    assert fail("a", at) is None
    assert access.claim_try("a", "N1", at, window=window, tries=100, hold=hold) is None
    access.judged_try("a", "N1", True, at, **limits)
    assert fail("a", at) is None and fail("a", at) is None
    # The budget: 2 tries per window, renewed when the window has passed.
    for n in range(2):
        assert access.claim_try("c", f"M{n}", t0, window=window, tries=2, hold=hold) is None
    assert access.claim_try("c", "M9", t0, window=window, tries=2, hold=hold) == t0 + window
    assert access.claim_try("c", "M9", t0 + window, window=window, tries=2, hold=hold) is None
