"""Telling people: delivering the outbox's events to the applicant and the agencies.

A step writes its event in its own transaction (:mod:`workflow.services.cases`); delivery is
never on the step's path. A run, under the ``outbox`` lease (one instance at a time, every
write fenced by its generation):

1. fans each new event out into one message per recipient and channel
   (:func:`workflow.core.notify.recipients`);
2. sends each due message, claimed in the database first: several senders at once, one per
   recipient, so a slow or failing receiver holds up only its own messages;
3. records each outcome: delivered, or tried again after an exponential backoff with
   jitter, or parked ``dead`` with its last error after ``outbox_max_attempts``.

A process killed between sending and recording sends that message again when the next run
takes over (once per kill); the receiver can tell by ``Idempotency-Key`` (the event's id).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
import secrets
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from ..core.divisions import Divisions
from ..core.inputs import check_agency_format
from ..core.notify import (
    EVENT_PAPERS,
    SUBSCRIPTION_CHANNELS,
    backoff_seconds,
    check_contact_email,
    check_event_names,
    check_webhook_url,
    mask_target,
    message_text,
    recipients,
)
from ..errors import InvalidInput, LeaseLost, NotFound
from ..logs import get_logger
from ..ports import OutboxStore
from ..records import Lease, MessageToSend, NewMessage, OutboxEvent, OutboxMessage, Subscription, now
from ..settings import Settings
from .channels import ChannelError, Channels
from .definitions import DefinitionRegistry
from .scheduling import LEASE_HELD, Scheduling

log = get_logger("sstransfer")
JOB = "outbox"
_CHUNK = 500


@dataclasses.dataclass(frozen=True)
class DeliveryRun:
    """What one delivery run did (``ran`` False: another instance holds the lease)."""

    ran: bool
    reason: str = ""
    fanned_out: int = 0
    delivered: int = 0
    failed: int = 0
    dead: int = 0

    def to_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


class OutboxService:
    """Delivery runs, the outbox's listing and retries, and the agencies' subscriptions."""

    def __init__(self, store: OutboxStore, scheduling: Scheduling, settings: Settings,
                 definitions: DefinitionRegistry, divisions: Divisions, *,
                 channels: Callable[[], Channels] | None = None) -> None:
        self.store, self.scheduling, self.settings = store, scheduling, settings
        self.definitions, self.divisions = definitions, divisions
        self._channels = channels or (lambda: Channels(settings))
        self._random = random.Random()

    # --- delivering -------------------------------------------------------------------------
    def deliver(self) -> DeliveryRun:
        """One run: fan out new events, send what is due, record each outcome."""
        with self.scheduling.holding(JOB) as lease:
            if lease is None:
                return DeliveryRun(False, LEASE_HELD)
            channels = self._channels()
            try:
                fanned = self._fan_out(lease, channels.available())
                counts = self._send_due(lease, channels)
            except LeaseLost as exc:
                log.warning("outbox_lease_lost", generation=lease.generation)
                return DeliveryRun(False, str(exc))
            finally:
                channels.close()
        run = DeliveryRun(True, "", fanned, *counts)
        if fanned or any(counts):
            log.info("outbox_delivered", fanned_out=fanned, delivered=run.delivered,
                     failed=run.failed, dead=run.dead)
        return run

    def _fan_out(self, lease: Lease, channels: set[str]) -> int:
        subscriptions = self.store.subscriptions()
        total = 0
        while found := self.store.events_to_fan_out(_CHUNK):
            stamp = now()
            fanned: list[tuple[str, list[NewMessage]]] = []
            for e in found:
                fanned.append((e.event.event_id, [
                    NewMessage(e.event.event_id, e.event.name, e.event.case_id, channel, target,
                               mask_target(channel, target), sub_id, stamp, stamp)
                    for channel, target, sub_id in recipients(
                        e.event.name, e.event.data, origin=e.origin, destination=e.destination,
                        contact_phone=e.contact_phone, contact_email=e.contact_email,
                        subscriptions=subscriptions, channels=channels)]))
            self.store.fan_out(lease, fanned)
            total += len(found)
        return total

    def _send_due(self, lease: Lease, channels: Channels) -> tuple[int, int, int]:
        """Send every message due now (each at most once in this run), grouped by recipient:
        the groups go out side by side, a group's messages one after another."""
        tried: set[int] = set()
        delivered = failed = dead = 0
        with ThreadPoolExecutor(max_workers=self.settings.outbox_workers,
                                thread_name_prefix="sstransfer-outbox") as pool:
            while due := [m for m in self.store.due_messages(now(), _CHUNK)
                          if m.message.id not in tried]:
                groups: dict[tuple[str, str], list[MessageToSend]] = {}
                for m in due:
                    tried.add(m.message.id)
                    groups.setdefault((m.message.channel, m.message.target), []).append(m)
                for outcome in pool.map(lambda g: self._send_group(lease, channels, g),
                                        groups.values()):
                    delivered, failed, dead = (delivered + outcome[0], failed + outcome[1],
                                               dead + outcome[2])
        return delivered, failed, dead

    def _send_group(self, lease: Lease, channels: Channels,
                    group: Sequence[MessageToSend]) -> tuple[int, int, int]:
        delivered = failed = dead = 0
        for item in group:
            m = item.message
            if not self.store.claim(lease, m.id):
                continue
            try:
                provider_id = self._send(channels, item)
            except ChannelError as exc:
                attempts = m.attempts + 1
                final = attempts >= self.settings.outbox_max_attempts
                wait = backoff_seconds(attempts, self.settings.outbox_backoff_seconds,
                                       self.settings.outbox_backoff_max_seconds,
                                       self._random.random())
                self.store.record(lease, m.id, m.event_id, state="dead" if final else "pending",
                                  attempts=attempts, error=str(exc)[:500], provider_id=None,
                                  next_attempt_at=None if final
                                  else now() + dt.timedelta(seconds=wait))
                # The recipient is never logged: the message's id names it.
                log.warning("outbox_message_dead" if final else "outbox_message_failed",
                            message_id=m.id, event_name=m.event_name, case_id=m.case_id,
                            channel=m.channel, attempts=attempts, error=str(exc)[:200])
                failed, dead = failed + 1, dead + final
                continue
            self.store.record(lease, m.id, m.event_id, state="delivered", attempts=m.attempts + 1,
                              next_attempt_at=None, error=None, provider_id=provider_id)
            delivered += 1
        return delivered, failed, dead

    def _send(self, channels: Channels, item: MessageToSend) -> str:
        m, event = item.message, item.event
        if m.channel == "webhook":
            body = json.dumps(event.payload(), ensure_ascii=False, sort_keys=True).encode()
            return channels.webhook(m.target, item.secret, event.event_id, body)
        subject, text = self.text(item)
        if m.channel == "email":
            return channels.email(m.target, subject, text, event.event_id)
        return channels.sms(m.target, text)

    def text(self, item: MessageToSend) -> tuple[str, str]:
        """The Chinese subject and body of a message, in the words of its paper."""
        event = item.event
        title = None
        kind = EVENT_PAPERS.get(event.name)
        if kind is not None and event.paper_id is not None:
            definition = self.definitions.get(item.definition_name, item.definition_version)
            title = definition.title("paper", kind, "zh")
        names = {side: self.divisions.name_of(code) or code
                 for side, code in (("origin", item.origin), ("destination", item.destination))}
        return message_text(event.to_dict(), insurance=item.insurance, paper_title=title,
                            case_number=item.public_number,
                            agency_names=names)

    # --- reading and retrying ---------------------------------------------------------------
    def events(self, *, state: str | None = None, case_id: int | None = None,
               agencies: Sequence[str] | None = None, province: str | None = None,
               limit: int = 100, offset: int = 0,
               insurances: Sequence[str] | None = None) -> list[OutboxEvent]:
        if state is not None and state not in ("pending", "delivered", "dead"):
            raise InvalidInput(f"state must be pending, delivered or dead, not {state!r}")
        return self.store.events(state=state, case_id=case_id, agencies=agencies,
                                 province=province, limit=limit, offset=offset,
                                 insurances=insurances)

    def event(self, number: int) -> OutboxEvent:
        # A number beyond the id column is simply not there (never an overflow).
        found = self.store.event(number) if 1 <= number < 2 ** 31 else None
        if found is None:
            raise NotFound(f"there is no outbox event {number}")
        return found

    def messages(self, events: Sequence[OutboxEvent]) -> list[OutboxMessage]:
        return self.store.messages([e.event_id for e in events])

    def retry(self, number: int) -> int:
        """Make the dead messages of event ``number`` pending again, due now; how many."""
        event = self.event(number)
        count = self.store.retry(event.event_id)
        log.info("outbox_retry", event_number=number, event_name=event.name, case_id=event.case_id,
                 messages=count)
        return count

    def counts(self) -> dict[tuple[str, str], int]:
        return self.store.counts()

    # --- subscriptions ----------------------------------------------------------------------
    def add_subscription(self, *, agency: str | None = None, province: str | None = None,
                         events: Sequence[str] | None = None, channel: str, target: str,
                         created_by: str) -> tuple[Subscription, str | None]:
        """Subscribe an agency (6 digits) or a province (2 digits) to events by webhook or
        email; a webhook's new secret is returned once (it signs every request)."""
        if (agency is None) == (province is None):
            raise InvalidInput("a subscription is for an agency (6 digits) or a province "
                               "(2 digits): give one of them")
        if agency is not None:
            agency = check_agency_format(agency, "agency")
        if province is not None and not (isinstance(province, str) and len(province) == 2
                                         and province.isdigit()):
            raise InvalidInput("province must be the 2-digit code of a province, such as 44")
        if channel not in SUBSCRIPTION_CHANNELS:
            raise InvalidInput(f"channel must be one of {', '.join(SUBSCRIPTION_CHANNELS)}, "
                               f"not {channel!r}")
        names = check_event_names(list(events or ()))
        if channel == "webhook":
            target, secret = check_webhook_url(target), secrets.token_urlsafe(32)
        else:
            checked = check_contact_email(target)
            if checked is None:
                raise InvalidInput("an email subscription needs an address (target)")
            target, secret = checked, None
        sub = self.store.add_subscription(agency=agency, province=province, events=names,
                                          channel=channel, target=target, secret=secret,
                                          created_by=created_by)
        log.info("subscription_added", subscription_id=sub.id, agency=agency, province=province,
                 channel=channel, events=list(names), by=created_by)
        return sub, secret

    def subscriptions(self) -> list[Subscription]:
        return self.store.subscriptions()

    def subscription(self, subscription_id: int) -> Subscription:
        found = self.store.subscription(subscription_id)
        if found is None:
            raise NotFound(f"there is no subscription {subscription_id}")
        return found

    def remove_subscription(self, subscription_id: int, *, removed_by: str) -> None:
        if not self.store.remove_subscription(subscription_id):
            raise NotFound(f"there is no subscription {subscription_id}")
        log.info("subscription_removed", subscription_id=subscription_id, by=removed_by)


__all__ = ["JOB", "DeliveryRun", "OutboxService"]
