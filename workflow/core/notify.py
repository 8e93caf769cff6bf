"""Telling people: the events a step or a scan causes, who hears of them, and what they read.

No I/O. An event is written to the outbox in the transaction of the step (or of the scan's
alerts) that causes it; delivery later fans it out into one message per recipient and channel
(:mod:`workflow.services.outbox`). Here: the events' names, which step causes which, the
applicant's contact details (checked, masked), the webhook signature, the retry backoff and
the Chinese words of the mails and text messages (the papers' own titles).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Collection, Iterable, Mapping
from typing import Any, Protocol

from ..errors import InvalidInput
from .events import EVENT_NAMES
from .inputs import normalise, shown

#: The events that reach the applicant (employer, agent or the insured person) through the
#: contact details given at opening; ``alert.raised`` only at level ``advisory``.
APPLICANT_EVENTS = frozenset({"case.opened", "case.rejected", "documents.requested",
                              "case.continued", "case.withdrawn"})
#: The channels of a message; an agency subscribes by webhook or email.
CHANNELS = ("webhook", "email", "sms")
SUBSCRIPTION_CHANNELS = ("webhook", "email")
#: A message is pending until delivered, or dead after its last attempt failed.
MESSAGE_STATES = ("pending", "delivered", "dead")
#: A receiver rejects a webhook whose timestamp is older than this (a replay).
REPLAY_WINDOW_SECONDS = 300
#: A mainland mobile number (what a text message reaches), ``+86`` or ``0086`` allowed.
_MOBILE = re.compile(r"(?:\+?86|0086)?(1[3-9][0-9]{9})")
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
                    r"[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+")
EMAIL_MAX = 254
URL_MAX = 2000


def step_event(trigger: str, dest: str) -> str | None:
    """The event a step causes (None: a step nobody is told of, such as a review)."""
    if dest == "rejected":
        return "case.rejected"
    if dest == "withdrawn":
        return "case.withdrawn"
    if dest == "continued":
        return "case.continued"
    if trigger == "request_documents":
        return "documents.requested"
    return None


class Subscriber(Protocol):
    """What choosing recipients reads of a subscription."""

    @property
    def id(self) -> int: ...
    @property
    def agency(self) -> str | None: ...
    @property
    def province(self) -> str | None: ...
    @property
    def events(self) -> list[str]: ...
    @property
    def channel(self) -> str: ...
    @property
    def target(self) -> str: ...


#: The paper an event refers to, by the event's name (its title is the mail's subject).
EVENT_PAPERS = {"case.rejected": "refusal_explanation", "documents.requested": "one_time_notice",
                "case.continued": "completion_notice"}


def recipients(name: str, data: Mapping[str, Any], *, origin: str, destination: str,
               contact_phone: str | None, contact_email: str | None,
               subscriptions: Iterable[Subscriber],
               channels: Collection[str]) -> list[tuple[str, str, int | None]]:
    """Who hears of an event, as (channel, target, subscription id or None: the applicant),
    each channel and target once.

    The applicant hears of their case's steps (and of the different-place registration
    advisory) by the channels they gave details for and the service has (``channels``).
    An agency's subscription hears of the events it names (none named: all) of cases from
    or to it; an alert only reaches the subscriptions of the agency that owns its span. A
    province's subscription hears of its agencies'."""
    found: dict[tuple[str, str], int | None] = {}
    level = data.get("level")
    if name in APPLICANT_EVENTS or (name == "alert.raised" and level == "advisory"):
        if contact_email is not None and "email" in channels:
            found[("email", contact_email)] = None
        if contact_phone is not None and "sms" in channels:
            found[("sms", contact_phone)] = None
    agencies = ({str(data.get("owner_agency"))} if name == "alert.raised" and level != "advisory"
                else {origin, destination})
    for sub in subscriptions:
        if sub.events and name not in sub.events:
            continue
        if sub.agency in agencies or (sub.province is not None and any(
                a.startswith(sub.province) for a in agencies)):
            found.setdefault((sub.channel, sub.target), sub.id)
    return [(channel, target, sub_id) for (channel, target), sub_id in found.items()]


def opened_data(definition: str, version: int, insurance: str, origin: str,
                destination: str, state: str) -> dict[str, Any]:
    """What a ``case.opened`` event says: the workflow, the insurance and the two agencies."""
    return {"definition": definition, "version": version, "insurance": insurance,
            "origin": origin, "destination": destination, "state": state}


def step_data(event: str, inputs: Mapping[str, Any], documents: list[dict[str, str]],
              cumulative_months: int | None) -> dict[str, Any]:
    """What an event of a step says beyond its case, name and date: the refusal's reason,
    the documents requested (kinds and Chinese names), the cumulative months."""
    if event == "case.rejected":
        return {"reason": inputs.get("explanation")}
    if event == "documents.requested":
        return {"documents": documents}
    if event == "case.continued":
        return {"contribution_months": cumulative_months}
    return {}


def alert_data(alert_id: int, level: str, subject: str, owner: str, owner_agency: str,
               due_on: dt.date | None, working_days_late: int | None) -> dict[str, Any]:
    """What an ``alert.raised`` event says: the alert, its level, the span (or advisory), who
    owns it, its due date and the working days late (negative: left)."""
    return {"alert_id": alert_id, "level": level, "subject": subject, "owner": owner,
            "owner_agency": owner_agency, "due_on": None if due_on is None else due_on.isoformat(),
            "working_days_late": working_days_late}


def check_event_names(names: object) -> tuple[str, ...]:
    """A subscription's events: names from :data:`EVENT_NAMES` (empty: every event)."""
    if names is None:
        return ()
    if isinstance(names, str) or not isinstance(names, (list, tuple)):
        raise InvalidInput("events must be a list of event names")
    found = tuple(dict.fromkeys(normalise(n) for n in names))
    unknown = [n for n in found if n not in EVENT_NAMES]
    if unknown:
        raise InvalidInput(f"no event {shown(unknown[0])}; the events: {', '.join(EVENT_NAMES)}")
    return found


def check_contact_phone(value: object) -> str | None:
    """The applicant's mobile number for text messages (11 digits, ``+86`` allowed), stored
    without the country code; None or empty: none given."""
    value = normalise(value)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidInput("contact_phone must be a mobile number, such as 13800138000")
    match = _MOBILE.fullmatch(re.sub(r"[\s-]", "", value))
    if match is None:
        raise InvalidInput("contact_phone must be a mainland mobile number of 11 digits "
                           "starting with 1, such as 13800138000")
    return match.group(1)


def check_contact_email(value: object) -> str | None:
    """The applicant's email address (checked by its form; the domain kept in lower case);
    None or empty: none given."""
    value = normalise(value)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > EMAIL_MAX or not _EMAIL.fullmatch(value):
        raise InvalidInput("contact_email must be an email address, such as name@example.com")
    local, domain = value.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def check_webhook_url(value: object) -> str:
    """A webhook's address: an ``http`` or ``https`` URL."""
    value = normalise(value)
    if not isinstance(value, str) or len(value) > URL_MAX \
            or not re.fullmatch(r"https?://[^\s/?#]+[^\s]*", value):
        raise InvalidInput("a webhook target must be an http:// or https:// URL")
    return value


def mask_phone(phone: str | None) -> str | None:
    """``138****8000``: the first three and the last four digits."""
    return None if phone is None else f"{phone[:3]}****{phone[-4:]}"


def mask_email(email: str | None) -> str | None:
    """``z***@example.com``: the first character of the name and the domain."""
    if email is None:
        return None
    local, domain = email.rsplit("@", 1)
    return f"{local[:1]}***@{domain}"


def mask_target(channel: str, target: str) -> str:
    """A message's recipient as views show it: an address or number masked, a URL as is."""
    if channel == "email":
        return str(mask_email(target))
    if channel == "sms":
        return str(mask_phone(target))
    return target


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``X-Sstransfer-Signature``: ``sha256=`` and the hex HMAC-SHA256 of
    ``"<timestamp>.<body>"`` with the subscription's secret."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify_signature(secret: str, timestamp: str, signed: str, body: bytes, now: float,
                     window: int = REPLAY_WINDOW_SECONDS) -> bool:
    """What a receiver checks: the signature matches the body and the timestamp, and the
    timestamp is at most ``window`` seconds old (an older one is a replay) and not from the
    future beyond it. Compare in constant time."""
    if not timestamp.isascii() or not timestamp.isdigit():
        return False
    sent = int(timestamp)
    if abs(now - sent) > window:
        return False
    return hmac.compare_digest(signature(secret, sent, body), signed)


def backoff_seconds(attempts: int, base: float, cap: float, jitter: float) -> float:
    """How long to wait after the ``attempts``-th failed try: exponential (``base`` × 2ⁿ⁻¹,
    at most ``cap``), with "equal jitter": half of it fixed, half scaled by ``jitter`` in
    [0, 1) so that retries of many messages spread out."""
    delay = float(min(cap, base * 2.0 ** max(0, attempts - 1)))
    return delay / 2 + delay / 2 * jitter


def message_text(event: Mapping[str, Any], *, insurance: str, paper_title: str | None,
                 agency_names: Mapping[str, str], case_number: str) -> tuple[str, str]:
    """The Chinese subject and body an applicant reads of an event (mail; a text message
    sends the body), in the words of the papers, naming the case by its public number (the
    one the progress page asks for). No ID number, no amounts."""
    name, data, case = event["name"], event.get("data") or {}, case_number
    kind = "基本养老保险" if insurance == "pension" else "基本医疗保险"
    origin = agency_names.get("origin", "转出地经办机构")
    destination = agency_names.get("destination", "转入地经办机构")
    day = str(event["business_date"])
    if name == "case.opened":
        subject = "转移接续申请已受理登记"
        body = f"您的{kind}关系转移接续申请已于{day}提交至{destination}，业务流水号 {case}。"
    elif name == "case.rejected":
        subject = paper_title or "不予受理告知书"
        body = (f"您的{kind}关系转移接续申请（业务流水号 {case}）经审核不符合受理条件，不予受理。"
                f"理由：{data.get('reason') or ''}")
    elif name == "documents.requested":
        subject = paper_title or "补充材料一次性告知书"
        titles = "、".join(d["title"] for d in data.get("documents") or [])
        body = (f"您申请办理的{kind}关系转移接续（业务流水号 {case}），尚需一次性补充以下材料："
                f"{titles}。")
    elif name == "case.continued":
        subject = paper_title or "转移接续办结通知"
        months = data.get("contribution_months")
        body = (f"您的{kind}关系已由{origin}转入{destination}，接续手续已于{day}办结"
                f"（业务流水号 {case}）。" + (f"累计缴费月数 {months} 个月。" if months is not None
                                        else ""))
    elif name == "case.withdrawn":
        subject = "转移接续申请已撤回"
        body = f"您的{kind}关系转移接续申请（业务流水号 {case}）已于{day}撤回。"
    else:  # alert.raised, advisory: the different-place medical registration
        subject = "异地就医备案提示"
        body = (f"您的{kind}关系转移（业务流水号 {case}）已办结，请及时办理医疗保险关系转移或"
                "异地就医备案。")
    return f"【社会保险关系转移】{subject}（业务流水号 {case}）", body


__all__ = [
    "APPLICANT_EVENTS",
    "CHANNELS",
    "EVENT_NAMES",
    "EVENT_PAPERS",
    "MESSAGE_STATES",
    "REPLAY_WINDOW_SECONDS",
    "SUBSCRIPTION_CHANNELS",
    "Subscriber",
    "alert_data",
    "backoff_seconds",
    "check_contact_email",
    "check_contact_phone",
    "check_event_names",
    "check_webhook_url",
    "mask_email",
    "mask_phone",
    "mask_target",
    "message_text",
    "opened_data",
    "recipients",
    "signature",
    "step_data",
    "step_event",
    "verify_signature",
]
