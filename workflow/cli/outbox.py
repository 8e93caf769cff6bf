"""The outbox (list, deliver, retry) and the agencies' subscriptions (add, list, remove)."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from .choices import EventName, OutboxState, SubscriptionChannel, value
from .common import JsonOpt, SettingsOpt, esc, group, out, print_json, row, settings, table

outbox_app = group(help="The outbox: each step's event told to the applicant and to the "
                        "agencies' subscriptions, exactly once.")
subscriptions_app = group(help="The agencies' subscriptions to events, by webhook or email.")


@outbox_app.command("list")
def list_outbox(
    state: Annotated[OutboxState | None, typer.Option(
        help="Only events in this state.")] = None,
    case: Annotated[int | None, typer.Option(help="Only the events of this case.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many events.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """The outbox's events, newest first, each by its name, with its recipients' delivery
    (addresses masked)."""
    engine = settings.engine(read=True)
    events = engine.outbox(state=value(state), case_id=case, limit=limit)
    messages = engine.outbox_messages(events)
    if as_json:
        print_json([{**e.to_dict(), "recipients": [m.to_dict() for m in messages
                                                   if m.event_id == e.event_id]}
                    for e in events])
        return
    rows = table("outbox" + (f" ({state})" if state else ""),
                 ("id", "event", "case", "date", "state", "recipients", "last error"),
                 whole=("id", "event", "case", "date"))
    for e in events:
        mine = [m for m in messages if m.event_id == e.event_id]
        shown = ", ".join(f"{m.channel} {m.target_masked} {m.state}" for m in mine) or (
            "—" if e.fanned_out else "not yet fanned out")
        errors = [m.last_error for m in mine if m.last_error]
        row(rows, e.id, e.name, e.case_id, e.business_date, e.state, shown,
            errors[-1] if errors else "")
    out.print(rows)


@outbox_app.command("deliver")
def deliver(settings_file: SettingsOpt = None, as_json: JsonOpt = False) -> None:
    """Deliver the outbox once (``serve`` does it every ``outbox_every_seconds``): fan new
    events out to their recipients, send what is due, record each outcome."""
    run = settings.engine(settings_file).deliver_outbox()
    if as_json:
        print_json(run.to_dict())
        return
    if not run.ran:
        out.print(f"not delivered: {esc(run.reason)}")
        return
    out.print(f"fanned out {run.fanned_out} event(s); delivered {run.delivered} message(s), "
              f"{run.failed} failed ({run.dead} parked dead)")


@outbox_app.command("retry")
def retry(event_id: Annotated[int, typer.Argument(help="The event's number (outbox list).")],
          as_json: JsonOpt = False) -> None:
    """Send the dead messages of an event again (due now, attempts counted from zero)."""
    count = settings.engine(read=True).retry_outbox(event_id)
    if as_json:
        print_json({"event": event_id, "retried": count})
        return
    out.print(f"event {event_id}: {count} message(s) will be sent again")


@subscriptions_app.command("add")
def add(
    channel: Annotated[SubscriptionChannel, typer.Option(help="How the agency hears.")],
    target: Annotated[str, typer.Option(help="The webhook's URL or the email address.")],
    agency: Annotated[str | None, typer.Option(help="The agency (6 digits).")] = None,
    province: Annotated[str | None, typer.Option(
        help="Or a whole province (2 digits).")] = None,
    event: Annotated[list[EventName] | None, typer.Option(
        "--event", help="An event to hear of; repeat for several; none: every event.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Subscribe an agency (or a province) to events. A webhook's signing secret is printed
    once: its receiver checks X-Sstransfer-Signature with it."""
    sub, secret = settings.engine().add_subscription(
        agency=agency, province=province, events=[e.value for e in event or []] or None,
        channel=channel.value, target=target,
        created_by=f"{getpass.getuser()} (cli)")
    if as_json:
        print_json({"subscription": sub.to_dict(), "secret": secret})
        return
    out.print(esc(f"subscription {sub.id}: {sub.agency or 'province ' + str(sub.province)} "
                  f"hears of {', '.join(sub.events) or 'every event'} by {sub.channel}"))
    if secret is not None:
        out.print("signing secret (shown only now):")
        print(secret)


@subscriptions_app.command("list")
def list_subscriptions(as_json: JsonOpt = False) -> None:
    """The subscriptions (never their secrets)."""
    found = settings.engine(read=True).subscriptions()
    if as_json:
        print_json([s.to_dict() for s in found])
        return
    rows = table("subscriptions", ("id", "agency", "province", "events", "channel", "target",
                                   "by", "created"), whole=("id", "agency", "province", "created"))
    for s in found:
        row(rows, s.id, s.agency or "", s.province or "", ", ".join(s.events) or "every event",
            s.channel, s.target, s.created_by, s.created_at.isoformat(timespec="seconds"))
    out.print(rows)


@subscriptions_app.command("remove")
def remove(subscription_id: Annotated[int, typer.Argument(help="The subscription's id.")],
           as_json: JsonOpt = False) -> None:
    """Remove a subscription: it hears of no new event (messages already made still go)."""
    settings.engine(read=True).remove_subscription(subscription_id,
                                                   removed_by=f"{getpass.getuser()} (cli)")
    if as_json:
        print_json({"subscription": subscription_id, "removed": True})
        return
    out.print(f"subscription {subscription_id} removed")
