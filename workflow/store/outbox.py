"""The outbox (all SQL): events written with their steps, their messages, subscriptions and
the applicants' contact details.

Events are inserted in the transaction of the step or scan that causes them (functions taking
that transaction's connection); everything the deliverer writes is fenced by the outbox
lease's generation, so an instance whose lease was taken over writes nothing more.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from ..records import (
    EventToFanOut,
    Lease,
    MessageToSend,
    NewEvent,
    NewMessage,
    OutboxEvent,
    OutboxMessage,
    Subscription,
    now,
)
from .connection import in_province, insert_ignoring_duplicates
from .scheduling import fence
from .tables import cases_t, contacts_t, events_t, messages_t, subscriptions_t

_EVENT = [events_t.c[name] for name in OutboxEvent.model_fields]
_MESSAGE = [messages_t.c[name] for name in OutboxMessage.model_fields]
_SUBSCRIPTION = [subscriptions_t.c[name] for name in Subscription.model_fields]
_CASE = [cases_t.c.insurance, cases_t.c.origin, cases_t.c.destination,
         cases_t.c.definition_name, cases_t.c.definition_version, cases_t.c.public_number]


# --- in the step's own transaction ------------------------------------------------------------
def event_rows(events: Sequence[NewEvent]) -> list[dict[str, Any]]:
    """The outbox rows of new events: pending, not fanned out."""
    return [{**{name: getattr(e, name) for name in e.__dataclass_fields__},
             "fanned_out": False, "state": "pending", "messages": 0} for e in events]


def insert_events(conn: sa.Connection, events: Sequence[NewEvent]) -> None:
    """Write events to the outbox, in the caller's transaction (pending, not fanned out)."""
    if events:
        conn.execute(sa.insert(events_t), event_rows(events))


def insert_contacts(conn: sa.Connection, contacts: Sequence[tuple[int, str | None,
                                                                  str | None]]) -> None:
    """Keep the contact details given at opening (case id, phone, email), where any."""
    rows = [{"case_id": c, "phone": p, "email": e} for c, p, e in contacts if p or e]
    if rows:
        conn.execute(sa.insert(contacts_t), rows)


def _event(row: Any) -> OutboxEvent:
    return OutboxEvent(**{name: row._mapping[name] for name in OutboxEvent.model_fields})


def _message(row: Any) -> OutboxMessage:
    return OutboxMessage(**{name: row._mapping[name] for name in OutboxMessage.model_fields})


def _scoped(query: sa.Select[Any], agencies: Sequence[str] | None,
            province: str | None, insurances: Sequence[str] | None = None) -> sa.Select[Any]:
    """Only events of cases from or to one of ``agencies``, or in ``province``; of cases of
    ``insurances`` (a department's scope)."""
    if agencies is None and province is None and insurances is None:
        return query
    query = query.join(cases_t, cases_t.c.id == events_t.c.case_id)
    if insurances is not None:
        query = query.where(cases_t.c.insurance.in_(insurances))
    if agencies is None and province is None:
        return query
    if province is not None:
        return query.where(sa.or_(in_province(cases_t.c.origin, province),
                                  in_province(cases_t.c.destination, province)))
    return query.where(sa.or_(cases_t.c.origin.in_(agencies or ()),
                              cases_t.c.destination.in_(agencies or ())))


class OutboxRepository:
    """The deliverer's reads and fenced writes, the outbox's listing, and subscriptions."""

    def __init__(self, db: sa.Engine) -> None:
        self.db = db

    # --- fan-out ------------------------------------------------------------------------------
    def events_to_fan_out(self, limit: int) -> list[EventToFanOut]:
        query = (sa.select(*_EVENT, *_CASE, contacts_t.c.phone, contacts_t.c.email)
                 .join(cases_t, cases_t.c.id == events_t.c.case_id)
                 .outerjoin(contacts_t, contacts_t.c.case_id == events_t.c.case_id)
                 .where(events_t.c.fanned_out.is_(False)).order_by(events_t.c.id).limit(limit))
        with self.db.connect() as conn:
            return [EventToFanOut(_event(r), r.insurance, r.origin, r.destination,
                                  r.definition_name, r.definition_version, r.phone, r.email)
                    for r in conn.execute(query)]

    def fan_out(self, lease: Lease, fanned: Sequence[tuple[str, Sequence[NewMessage]]]) -> None:
        """Write each event's messages (at most one per channel and recipient) and mark it
        fanned out: delivered at once if it has no recipient."""
        with self.db.begin() as conn:
            fence(conn, lease)
            rows = [{**{n: getattr(m, n) for n in m.__dataclass_fields__}, "state": "pending",
                     "attempts": 0} for _, messages in fanned for m in messages]
            if rows:
                conn.execute(insert_ignoring_duplicates(conn, messages_t), rows)
            for event_id, messages in fanned:
                conn.execute(events_t.update().where(events_t.c.event_id == event_id).values(
                    fanned_out=True, messages=len(messages),
                    state="pending" if messages else "delivered"))

    def subscriptions(self) -> list[Subscription]:
        with self.db.connect() as conn:
            return [Subscription(**r._mapping) for r in conn.execute(
                sa.select(*_SUBSCRIPTION).order_by(subscriptions_t.c.id))]

    # --- delivery ----------------------------------------------------------------------------
    def due_messages(self, at: dt.datetime, limit: int) -> list[MessageToSend]:
        """Pending messages whose next attempt is due at ``at``, oldest first."""
        query = (sa.select(*_MESSAGE, *[c.label(f"e_{c.name}") for c in _EVENT],
                           subscriptions_t.c.secret, *_CASE)
                 .join(events_t, events_t.c.event_id == messages_t.c.event_id)
                 .join(cases_t, cases_t.c.id == messages_t.c.case_id)
                 .outerjoin(subscriptions_t, subscriptions_t.c.id == messages_t.c.subscription_id)
                 .where(messages_t.c.state == "pending", messages_t.c.next_attempt_at <= at)
                 .order_by(messages_t.c.id).limit(limit))
        with self.db.connect() as conn:
            found = []
            for r in conn.execute(query):
                m = r._mapping
                event = OutboxEvent(**{n: m[f"e_{n}"] for n in OutboxEvent.model_fields})
                found.append(MessageToSend(_message(r), event, m["secret"], m["insurance"],
                                           m["origin"], m["destination"], m["definition_name"],
                                           m["definition_version"], m["public_number"]))
            return found

    def claim(self, lease: Lease, message_id: int) -> bool:
        """Claim a pending message for this lease's generation before sending it: False if
        it is no longer pending or this generation claimed it already. A claim an older
        generation left (its holder was killed mid-send) is taken over: that message is sent
        again, once per kill, and its receiver can tell by the event's id."""
        with self.db.begin() as conn:
            fence(conn, lease)
            return conn.execute(messages_t.update().where(
                messages_t.c.id == message_id, messages_t.c.state == "pending",
                sa.or_(messages_t.c.claim_generation.is_(None),
                       messages_t.c.claim_generation < lease.generation),
            ).values(claim_generation=lease.generation)).rowcount == 1

    def record(self, lease: Lease, message_id: int, event_id: str, *, state: str,
               attempts: int, next_attempt_at: dt.datetime | None, error: str | None,
               provider_id: str | None) -> None:
        """Record an attempt's outcome (fenced; only for this generation's claim) and the
        event's state: dead if a message of it is dead, pending while one is pending."""
        values: dict[str, Any] = {"state": state, "attempts": attempts, "last_error": error,
                                  "claim_generation": None}
        if state == "delivered":
            values.update(delivered_at=now(), provider_id=provider_id)
        if next_attempt_at is not None:
            values["next_attempt_at"] = next_attempt_at
        with self.db.begin() as conn:
            fence(conn, lease)
            conn.execute(messages_t.update().where(
                messages_t.c.id == message_id,
                messages_t.c.claim_generation == lease.generation).values(**values))
            self._settle(conn, event_id)

    @staticmethod
    def _settle(conn: sa.Connection, event_id: str) -> None:
        def any_in(state: str) -> sa.Exists:
            return sa.exists().where(messages_t.c.event_id == event_id,
                                     messages_t.c.state == state)
        conn.execute(events_t.update().where(events_t.c.event_id == event_id).values(
            state=sa.case((any_in("pending"), "pending"), (any_in("dead"), "dead"),
                          else_="delivered")))

    # --- reading and retrying -----------------------------------------------------------------
    def events(self, *, state: str | None = None, case_id: int | None = None,
               agencies: Sequence[str] | None = None, province: str | None = None,
               limit: int = 100, offset: int = 0,
               insurances: Sequence[str] | None = None) -> list[OutboxEvent]:
        query = _scoped(sa.select(*_EVENT), agencies, province, insurances)
        if state is not None:
            query = query.where(events_t.c.state == state)
        if case_id is not None:
            query = query.where(events_t.c.case_id == case_id)
        query = query.order_by(events_t.c.id.desc()).limit(limit).offset(offset)
        with self.db.connect() as conn:
            return [_event(r) for r in conn.execute(query)]

    def event(self, number: int) -> OutboxEvent | None:
        with self.db.connect() as conn:
            row = conn.execute(sa.select(*_EVENT).where(events_t.c.id == number)).first()
        return None if row is None else _event(row)

    def messages(self, event_ids: Sequence[str]) -> list[OutboxMessage]:
        if not event_ids:
            return []
        with self.db.connect() as conn:
            return [_message(r) for r in conn.execute(
                sa.select(*_MESSAGE).where(messages_t.c.event_id.in_(event_ids))
                .order_by(messages_t.c.id))]

    def retry(self, event_id: str) -> int:
        """Make the event's dead messages pending again, due now, with no attempt counted;
        how many."""
        with self.db.begin() as conn:
            count = conn.execute(messages_t.update().where(
                messages_t.c.event_id == event_id, messages_t.c.state == "dead").values(
                state="pending", attempts=0, next_attempt_at=now(),
                claim_generation=None)).rowcount
            self._settle(conn, event_id)
        return int(count)

    def counts(self) -> dict[tuple[str, str], int]:
        """How many events there are of each (name, state)."""
        with self.db.connect() as conn:
            return {(r.name, r.state): r.n for r in conn.execute(
                sa.select(events_t.c.name, events_t.c.state, sa.func.count().label("n"))
                .group_by(events_t.c.name, events_t.c.state))}

    # --- subscriptions and contacts -------------------------------------------------------------
    def add_subscription(self, *, agency: str | None, province: str | None,
                         events: Sequence[str], channel: str, target: str,
                         secret: str | None, created_by: str) -> Subscription:
        row: dict[str, Any] = {"agency": agency, "province": province, "events": list(events),
               "channel": channel, "target": target, "secret": secret,
               "created_by": created_by, "created_at": now()}
        with self.db.begin() as conn:
            new_id = conn.execute(sa.insert(subscriptions_t).values(**row)
                                  .returning(subscriptions_t.c.id)).scalar_one()
        return Subscription(id=new_id, **row)

    def subscription(self, subscription_id: int) -> Subscription | None:
        with self.db.connect() as conn:
            row = conn.execute(sa.select(*_SUBSCRIPTION).where(
                subscriptions_t.c.id == subscription_id)).first()
        return None if row is None else Subscription(**row._mapping)

    def remove_subscription(self, subscription_id: int) -> bool:
        with self.db.begin() as conn:
            return conn.execute(subscriptions_t.delete().where(
                subscriptions_t.c.id == subscription_id)).rowcount == 1

    def contact(self, case_id: int) -> tuple[str | None, str | None]:
        with self.db.connect() as conn:
            row = conn.execute(sa.select(contacts_t.c.phone, contacts_t.c.email)
                               .where(contacts_t.c.case_id == case_id)).first()
        return (None, None) if row is None else (row.phone, row.email)


__all__ = ["OutboxRepository", "insert_contacts", "insert_events"]
