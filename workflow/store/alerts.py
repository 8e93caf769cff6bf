"""Alerts, their subscribers and deliveries, and due-date recomputation (all SQL)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

import sqlalchemy as sa

from ..core.alerts import DUE_DATE_MOVED, LEVELS, STATUTORY_BREACH
from ..core.deadlines import SpanDue
from ..core.notify import alert_data
from ..core.queries import AlertQuery
from ..records import (
    Advisory,
    Alert,
    Lease,
    NewAlert,
    NewEvent,
    RaisedAlert,
    Run,
    RunningSpan,
    SpanAlert,
    SpanChange,
    SpanToJudge,
    event_ids,
    now,
)
from .cases import applicant_scope
from .connection import in_province, insert_ignoring_duplicates
from .outbox import event_rows
from .scheduling import fence
from .statements import insert_values
from .tables import alerts_t, cases_t, deliveries_t, events_t, span_changes_t, spans_t
from .tables import subscribers_t as subs_t

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql, sqlite


#: How long before a scan started a step it did not see may have been stamped: the step's
#: transaction was still open (its ``updated_at`` is taken before it commits), or the
#: application host's clock was behind the scanner's.
RECORDING_SLACK = dt.timedelta(hours=1)


def _matching(query: AlertQuery) -> list[sa.ColumnElement[bool]]:
    """The conditions of ``query`` but ``resolved``, ``limit`` and the order."""
    q, a = query, alerts_t.c
    where = [column == value for column, value in (
        (a.level, q.level), (a.owner_agency, q.agency), (a.case_id, q.case_id),
        (a.as_of, q.as_of), (a.run_id, q.run_id)) if value is not None]
    if q.province is not None:
        where.append(in_province(a.owner_agency, q.province))
    own = applicant_scope(q)
    if q.insurances is not None:  # a department's scope
        own.append(cases_t.c.insurance.in_(q.insurances))
    if own:
        where.append(sa.exists().where(cases_t.c.id == a.case_id, *own))
    return where


def undelivered(subscriber: str, generation: int) -> sa.ColumnElement[bool]:
    """Alerts ``subscriber`` has not had, nor claimed under this lease generation."""
    return ~sa.select(deliveries_t.c.alert_id).where(
        deliveries_t.c.alert_id == alerts_t.c.id, deliveries_t.c.subscriber == subscriber,
        sa.or_(deliveries_t.c.delivered_at.is_not(None),
               deliveries_t.c.generation >= generation)).exists()


def claim_delivery(conn: sa.Connection, lease: Lease, alert_id: int, subscriber: str) -> bool:
    """Claim an alert for a subscriber before calling it: True if this run may deliver it.

    A claim an older generation left undelivered (its holder was killed) is taken over.
    """
    fence(conn, lease)
    claim = _CLAIM.get(conn.dialect.name)
    if claim is None:
        claim = _CLAIM[conn.dialect.name] = _claim_statement(conn)
    return conn.execute(claim, {"alert_id": alert_id, "subscriber": subscriber,
                                "generation": lease.generation}).first() is not None


_CLAIM: dict[str, sa.Insert] = {}


def _claim_statement(conn: sa.Connection) -> sa.Insert:
    insert: Callable[[sa.Table], postgresql.Insert | sqlite.Insert]
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    claim = insert(deliveries_t).values(alert_id=sa.bindparam("alert_id"),
                                        subscriber=sa.bindparam("subscriber"),
                                        generation=sa.bindparam("generation"), delivered_at=None)
    return claim.on_conflict_do_update(
        index_elements=[deliveries_t.c.alert_id, deliveries_t.c.subscriber],
        set_={"generation": claim.excluded.generation},
        where=deliveries_t.c.delivered_at.is_(None)
        & (deliveries_t.c.generation < claim.excluded.generation),
    ).returning(deliveries_t.c.alert_id)


_CLAIMED = sa.and_(deliveries_t.c.alert_id == sa.bindparam("_alert"),
                   deliveries_t.c.subscriber == sa.bindparam("_subscriber"),
                   deliveries_t.c.generation == sa.bindparam("_generation"))
_RECORD = sa.update(deliveries_t).where(_CLAIMED).values(delivered_at=sa.bindparam("_at"))
_DROP = sa.delete(deliveries_t).where(_CLAIMED, deliveries_t.c.delivered_at.is_(None))


def record_delivery(conn: sa.Connection, lease: Lease, alert_id: int, subscriber: str) -> None:
    fence(conn, lease)
    conn.execute(_RECORD, {"_alert": alert_id, "_subscriber": subscriber,
                           "_generation": lease.generation, "_at": now()})


def drop_claim(conn: sa.Connection, lease: Lease, alert_id: int, subscriber: str) -> None:
    """Give a claim back after its callback failed: the next scan tries it again."""
    fence(conn, lease)
    conn.execute(_DROP, {"_alert": alert_id, "_subscriber": subscriber,
                         "_generation": lease.generation})


_ALERT_FIELDS = [alerts_t.c[name] for name in Alert.model_fields]
_RUNNING = [spans_t.c[name] for name in RunningSpan._fields[:-2]] + [
    cases_t.c.definition_name, cases_t.c.definition_version]
_TO_JUDGE = [spans_t.c[name] for name in SpanToJudge._fields]


def _by_span(alert: NewAlert) -> tuple[bool, int, int]:
    """Span alerts by span, then advisories by case."""
    return alert.span_id is None, alert.span_id or 0, alert.case_id


def _by_case(alert: RaisedAlert) -> tuple[int, int]:
    return alert.case_id, alert.id


def alert_key(alert: NewAlert) -> str:
    """What makes an alert exist at most once: its span and level, or its case for an
    advisory."""
    if alert.span_id is None:
        return f"advisory:{alert.case_id}:{alert.subject}"
    return f"span:{alert.span_id}:{alert.level}"


class RecomputeTransaction:
    """Running spans and their due-date changes, in one transaction."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def running_spans(self) -> list[RunningSpan]:
        return [RunningSpan._make(r) for r in self.conn.execute(
            sa.select(*_RUNNING).join(cases_t, cases_t.c.id == spans_t.c.case_id)
            .where(spans_t.c.ended_on.is_(None)).order_by(spans_t.c.id))]

    def set_due(self, span_id: int, due: SpanDue) -> None:
        self.conn.execute(sa.update(spans_t).where(spans_t.c.id == span_id)
                          .values(**due.columns()))

    def record_change(self, change: SpanChange) -> None:
        self.conn.execute(sa.insert(span_changes_t).values(**vars(change)))


class AlertRepository:
    """Alerts over one SQLAlchemy engine."""

    def __init__(self, db: sa.Engine) -> None:
        self.db = db

    @contextmanager
    def spans_to_judge(self, as_of: dt.date, horizon: dt.date,
                       chunk: int) -> Iterator[Iterator[Sequence[SpanToJudge]]]:
        # Two range scans of the partial indexes on running spans, by statutory due date and
        # by committed due date (the second leaving out those the first found): an OR of the
        # two would read every running span.
        running = (spans_t.c.ended_on.is_(None), spans_t.c.started_on <= as_of)
        query = sa.union_all(
            sa.select(*_TO_JUDGE).where(*running, spans_t.c.due_on <= horizon),
            sa.select(*_TO_JUDGE).where(*running, spans_t.c.committed_due_on <= horizon,
                                        spans_t.c.due_on > horizon))
        with self.db.connect() as reader:
            partitions = reader.execution_options(yield_per=chunk).execute(query).partitions()
            yield ([SpanToJudge._make(r) for r in rows] for rows in partitions)

    def advisories(self, as_of: dt.date, since: Run | None) -> list[Advisory]:
        # The person's medical insurance has moved to the same destination only if a medical
        # case of theirs was continued there; none at all (or one still open, or one to
        # another place) leaves it behind.
        p, m = cases_t.alias("p"), cases_t.alias("m")
        moved = sa.select(m.c.id).where(
            m.c.person_id == p.c.person_id, m.c.insurance == "medical",
            m.c.state == "continued", m.c.destination == p.c.destination)
        query = sa.select(p.c.id, p.c.destination).where(
            p.c.insurance == "pension", p.c.state == "continued", p.c.last_event_on <= as_of,
            ~moved.exists())
        if since is not None:
            # What the last completed scan could not have seen: a business date after its
            # as-of date (however many days without a scan lie between), or a case recorded
            # since it started (a step dated back). Two index ranges, a day's cases each.
            query = query.where(sa.or_(
                p.c.last_event_on > since.as_of,
                p.c.updated_at >= since.started_at - RECORDING_SLACK))
        with self.db.connect() as conn:
            return [Advisory._make(r) for r in conn.execute(query)]

    def insert_alerts(self, alerts: Sequence[NewAlert],
                      lease: Lease | None) -> list[RaisedAlert]:
        """In one transaction: the alerts (``ON CONFLICT DO NOTHING`` on the key, the new
        ones' ids and keys ``RETURNING``), then each new one's ``alert.raised`` event
        (:func:`~workflow.store.statements.insert_values`)."""
        # In the order of their spans (and cases): each row's foreign-key checks then read the
        # span and case tables in the order of their keys, not at random (national scale).
        keyed = {alert_key(a): a for a in sorted(alerts, key=_by_span)}
        with self.db.begin() as conn:
            if lease is not None:
                fence(conn, lease)
            new = insert_values(conn, alerts_t, [{**vars(a), "key": key}
                                                 for key, a in keyed.items()],
                                skip_duplicates=True, returning=("id", "key"))
            raised = [RaisedAlert(alert_id, a.level, a.case_id, a.subject, a.owner,
                                  a.owner_agency, a.due_on, a.working_days_late)
                      for alert_id, key in sorted(new) for a in (keyed[key],)]
            # Each new alert's event, in the same transaction (an alert exists once: so does
            # its event).
            as_of, stamp = alerts[0].as_of, alerts[0].raised_at
            insert_values(conn, events_t, event_rows([NewEvent(
                event_id, "alert.raised", a.case_id, as_of, stamp, None,
                alert_data(a.id, a.level, a.subject, a.owner, a.owner_agency, a.due_on,
                           a.working_days_late))
                for event_id, a in zip(event_ids(len(raised)), sorted(raised, key=_by_case),
                                       strict=True)]))
            return raised

    def subscribe(self, name: str, stamp: dt.datetime) -> None:
        with self.db.begin() as conn:
            last = conn.scalar(sa.select(sa.func.coalesce(sa.func.max(alerts_t.c.id), 0)))
            conn.execute(insert_ignoring_duplicates(conn, subs_t).values(
                name=name, since_alert_id=last, registered_at=stamp))

    def pending(self, subscriber: str, after: int, generation: int,
                limit: int) -> list[Alert]:
        with self.db.connect() as conn:
            since = conn.scalar(sa.select(subs_t.c.since_alert_id)
                                .where(subs_t.c.name == subscriber))
            assert since is not None  # subscribe() wrote the subscriber's row
            return [Alert(**r._mapping) for r in conn.execute(
                sa.select(*_ALERT_FIELDS).where(alerts_t.c.id > max(since, after),
                                                undelivered(subscriber, generation))
                .order_by(alerts_t.c.id).limit(limit))]

    def claim_delivery(self, lease: Lease, alert_id: int, subscriber: str) -> bool:
        with self.db.begin() as conn:
            return claim_delivery(conn, lease, alert_id, subscriber)

    def record_delivery(self, lease: Lease, alert_id: int, subscriber: str) -> None:
        with self.db.begin() as conn:
            record_delivery(conn, lease, alert_id, subscriber)

    def drop_claim(self, lease: Lease, alert_id: int, subscriber: str) -> None:
        with self.db.begin() as conn:
            drop_claim(conn, lease, alert_id, subscriber)

    def alerts(self, query: AlertQuery) -> list[Alert]:
        """``agency``: the owner agency; ``province``: its first two digits; the applicant
        scope (``applicant``, ``applicant_id``, ``person_id``): only the alerts of that
        applicant's own cases; ``insurances``: a department's; ``resolved``: open or resolved
        ones only."""
        a = alerts_t.c
        select = sa.select(*_ALERT_FIELDS).where(*_matching(query))
        if query.resolved is not None:
            select = select.where(a.resolved_on.is_not(None) if query.resolved
                                  else a.resolved_on.is_(None))
        select = select.order_by(a.id.desc() if query.newest_first else a.id).limit(query.limit)
        with self.db.connect() as conn:
            return [Alert(**r._mapping) for r in conn.execute(select)]

    def span_alerts(self, query: AlertQuery) -> list[SpanAlert]:
        """One line per span (and per advisory) of the alerts ``query`` matches, with its
        highest level: the open lines first (``resolved`` False: only those, at the highest
        of their open alerts; True: only spans none of whose alerts is open), highest level
        first, then soonest due."""
        a, s, c = alerts_t.c, spans_t.c, cases_t.c
        rank = sa.case(*((a.level == level, i) for i, level in enumerate(LEVELS, 1)), else_=0)
        open_count = sa.func.sum(sa.case((a.resolved_on.is_(None), 1), else_=0))
        line = sa.func.coalesce(a.span_id, -a.id)  # an advisory is a line of its own
        grouped = sa.select(
            sa.func.max(a.span_id).label("span_id"), sa.func.max(a.case_id).label("case_id"),
            sa.func.max(a.subject).label("subject"), sa.func.max(a.owner).label("owner"),
            sa.func.max(a.owner_agency).label("owner_agency"), sa.func.max(rank).label("rank"),
            sa.func.min(a.as_of).label("raised_on"), open_count.label("open_count"),
            sa.func.max(a.resolved_on).label("resolved_on"),
        ).where(*_matching(query)).group_by(line)
        if query.resolved is False:
            grouped = grouped.where(a.resolved_on.is_(None))
        elif query.resolved:
            grouped = grouped.having(open_count == 0)
        g = grouped.subquery()
        closed = sa.case((g.c.open_count > 0, 0), else_=1)
        select = (sa.select(g.c.span_id, g.c.case_id, g.c.subject, g.c.owner, g.c.owner_agency,
                            g.c.rank, g.c.raised_on, g.c.open_count, g.c.resolved_on, s.due_on,
                            s.committed_due_on, s.ended_on, c.definition_name,
                            c.definition_version)
                  .join(cases_t, c.id == g.c.case_id).outerjoin(spans_t, s.id == g.c.span_id)
                  .order_by(closed, g.c.rank.desc(), sa.func.coalesce(s.committed_due_on,
                                                                     s.due_on),
                            g.c.case_id, g.c.span_id).limit(query.limit))
        names = ("advisory", *LEVELS)
        with self.db.connect() as conn:
            return [SpanAlert(r.span_id, r.case_id, r.subject, r.owner, r.owner_agency,
                              names[r.rank], r.raised_on, r.open_count > 0,
                              None if r.open_count > 0 else r.resolved_on, r.due_on,
                              r.committed_due_on, r.ended_on, r.definition_name,
                              r.definition_version) for r in conn.execute(select)]

    def resolve_moved(self, as_of: dt.date, lease: Lease | None) -> int:
        """Resolve, as of ``as_of``, each open alert of a running span whose due date is no
        longer the one it names (a corrected business date, a recomputed calendar, ...); its
        key is freed so that the scan raises it again if the span is still at its level. The
        number resolved."""
        a, s = alerts_t.c, spans_t.c
        judged = sa.case((a.level == STATUTORY_BREACH, s.due_on),
                         else_=sa.func.coalesce(s.committed_due_on, s.due_on))
        # Each open alert looks its span up by id (OFFSET 0 keeps the subquery apart, so that
        # PostgreSQL does not hash every running span of the country to join the few open
        # alerts with them: 1.5 s at 5 million cases, against a look-up per open alert).
        moved = (sa.select(1).where(s.id == a.span_id, s.ended_on.is_(None), a.due_on != judged)
                 .offset(0).exists())
        with self.db.begin() as conn:
            if lease is not None:
                fence(conn, lease)
            return int(conn.execute(
                sa.update(alerts_t).where(a.resolved_on.is_(None), a.span_id.is_not(None), moved)
                .values(resolved_on=as_of, resolution=DUE_DATE_MOVED,
                        key=a.key + ":" + sa.cast(a.id, sa.String))).rowcount)

    @contextmanager
    def recompute_transaction(self) -> Iterator[RecomputeTransaction]:
        with self.db.begin() as conn:
            yield RecomputeTransaction(conn)
