"""Cases: open (one or a CSV file of them), fire a trigger, attach documents, correct a date;
show one, its history, or a list."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import InvalidInput
from .choices import (
    Applicant,
    Channel,
    Scheme,
    complete_definition,
    complete_document,
    complete_state,
    complete_trigger,
    value,
)
from .common import (
    ActorOpt,
    AgencyOpt,
    DocsOpt,
    IdNumberOpt,
    JsonOpt,
    OnOpt,
    RoleOpt,
    as_actor,
    date,
    esc,
    one_of,
    out,
    print_json,
    progress,
    row,
    settings,
    table,
)

if TYPE_CHECKING:
    from ..core.views import Case
    from ..engine import Engine
    from ..records import Span

#: The columns of a case's key/value table and of the spans table that are never cut.
_WHOLE_SPANS = ("agency", "started", "committed due", "statutory due", "ended")


def _show_case(case: Case, as_json: bool, spans: list[Span] | None = None) -> None:
    if as_json:
        data = case.to_dict()
        if spans is not None:
            data["spans"] = [s.to_dict() for s in spans]
        print_json(data)
        return
    rows = table(f"case {case.id}", ("field", "value"), whole=("value",), show_header=False)
    for key, item in case.to_dict().items():
        row(rows, key, ", ".join(item) if isinstance(item, list) else item)
    out.print(rows)
    if spans:
        _spans_table(spans)


def _confirm(engine: Engine, case: Case, done: str, as_json: bool) -> None:
    """What a write command prints: the case (its public number), its state, the next steps
    and the due dates of its running time limits. ``--json``: the case, with ``next_steps``
    and ``due`` (one object per running time limit) added."""
    definition = engine.definition(case.definition, case.definition_version)
    steps = list(definition.allowed_triggers(case.state))
    due = [{"span": s.name, "owner_agency": s.owner_agency, "due_on": s.due_on.isoformat(),
            "committed_due_on": s.committed_due_on and s.committed_due_on.isoformat(),
            "provisional": s.provisional}
           for s in engine.spans(case.id) if s.ended_on is None]
    if as_json:
        print_json({**case.to_dict(), "next_steps": steps, "due": due})
        return
    out.print(esc(f"case {case.id} (number {case.public_number}) {done}: {case.state}"),
              highlight=False)
    out.print(esc(f"next: {', '.join(steps) if steps else 'none (the case is closed)'}"),
              highlight=False)
    for d in due:
        committed = (f" (committed {d['committed_due_on']})" if d["committed_due_on"] else "")
        provisional = " (provisional)" if d["provisional"] else ""
        out.print(esc(f"due {d['due_on']}{committed}{provisional}: {d['span']} at "
                      f"{d['owner_agency']}"), highlight=False)


def _spans_table(spans: list[Span]) -> None:
    rows = table("spans", ("span", "owner", "agency", "started", "committed due",
                           "statutory due", "ended", "provisional", "note"), whole=_WHOLE_SPANS)
    for s in spans:
        row(rows, s.name, s.owner, s.owner_agency, s.started_on, s.committed_due_on or "–",
            s.due_on, s.ended_on or "running", "yes" if s.provisional else "", s.due_note or "")
    out.print(rows)


def open_case(
    definition: Annotated[str, typer.Argument(
        autocompletion=complete_definition, help="pension_transfer or medical_transfer")],
    person_id: Annotated[str, typer.Option(help="18-character resident ID number.")],
    person_name: Annotated[str, typer.Option(help="The person's name.")],
    origin: Annotated[str, typer.Option(help="Origin agency, 6-digit division code.")],
    destination: Annotated[str, typer.Option(help="Destination agency, 6-digit code.")],
    applicant: Annotated[Applicant, typer.Option(help="Who applied.")],
    actor: ActorOpt, role: RoleOpt, agency: AgencyOpt = None,
    channel: Annotated[Channel, typer.Option(help="Where.")] = Channel.counter,
    document: DocsOpt = None, on: OnOpt = None, as_json: JsonOpt = False,
    actor_id_number: IdNumberOpt = None,
    origin_scheme: Annotated[Scheme | None, typer.Option(
        help="Medical (since 2021): the scheme at the origin.")] = None,
    destination_scheme: Annotated[Scheme | None, typer.Option(
        help="Medical (since 2021): the scheme at the destination.")] = None,
    contact_phone: Annotated[str | None, typer.Option(
        help="The applicant's mobile number, to be told of each step.")] = None,
    contact_email: Annotated[str | None, typer.Option(
        help="The applicant's email address, to be told of each step.")] = None,
    receiving_employer: Annotated[bool | None, typer.Option(
        "--receiving-employer/--no-receiving-employer",
        help="Whether a unit accepts the person at the destination (default: yes for an "
             "employer's application, else no: the person's premium window applies).")] = None,
    agent_name: Annotated[str | None, typer.Option(
        help="An entrusted agent's name (applicant agent).")] = None,
    agent_id_number: Annotated[str | None, typer.Option(
        help="An entrusted agent's ID number (shown masked only).")] = None,
) -> None:
    """Open a transfer case (the application is received)."""
    if role.strip() == "self" and actor_id_number is None:
        actor_id_number = person_id  # a person applies for themselves
    engine = settings.engine()
    case = engine.open_case(
        definition, person_id=person_id, person_name=person_name, origin=origin,
        destination=destination, applicant=applicant.value, channel=channel.value,
        documents=document or [], actor=as_actor(actor, role, agency, actor_id_number),
        on=date(on, "--on"), origin_scheme=value(origin_scheme),
        destination_scheme=value(destination_scheme),
        contact_phone=contact_phone, contact_email=contact_email,
        receiving_employer=receiving_employer, agent_name=agent_name,
        agent_id_number=agent_id_number)
    _confirm(engine, case, "opened", as_json)


def fire(
    case_id: int,
    trigger: Annotated[str, typer.Argument(autocompletion=complete_trigger)],
    actor: ActorOpt, role: RoleOpt, agency: AgencyOpt = None,
    on: OnOpt = None, document: DocsOpt = None,
    expected_version: Annotated[int | None, typer.Option(
        help="Refuse if the case is no longer at this version.")] = None,
    explanation: Annotated[str | None, typer.Option(help="Written explanation (reject).")] = None,
    needed: Annotated[list[str] | None, typer.Option(
        "--needed", autocompletion=complete_document,
        help="A document still needed (request_documents); repeat.")] = None,
    amount: Annotated[str | None, typer.Option(help="Amount moved, yuan (move_funds).")] = None,
    months: Annotated[int | None, typer.Option(
        "--months", help="Cumulative contribution months (continue_relationship, version 1).")
    ] = None,
    information_form: Annotated[Path | None, typer.Option(
        "--information-form", help="A JSON file of the information form's data (move_funds "
        "since pension_transfer 2 / medical_transfer 3).")] = None,
    months_at_destination: Annotated[int | None, typer.Option(
        help="Months the person already has at the destination (continue_relationship).")
    ] = None,
    as_json: JsonOpt = False, actor_id_number: IdNumberOpt = None,
) -> None:
    """Fire a trigger on a case: review, reject, request_documents, resubmit, send_letter,
    move_funds, continue_relationship or withdraw."""
    engine = settings.engine()
    case = engine.fire(
        case_id, trigger, actor=as_actor(actor, role, agency, actor_id_number),
        on=date(on, "--on"),
        documents=document or [], expected_version=expected_version, explanation=explanation,
        documents_needed=needed, amount=amount, contribution_months=months,
        information_form=_form(information_form), months_at_destination=months_at_destination)
    _confirm(engine, case, trigger, as_json)


def _form(path: Path | None) -> dict[str, object] | None:
    """The information form's data from a JSON file."""
    if path is None:
        return None
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInput(f"--information-form {path}: cannot be read: {exc.strerror}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"--information-form {path}: not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"--information-form {path}: must hold a JSON object")
    return data


def attach(case_id: int, actor: ActorOpt, role: RoleOpt, agency: AgencyOpt = None,
           document: DocsOpt = None, on: OnOpt = None, as_json: JsonOpt = False,
           actor_id_number: IdNumberOpt = None) -> None:
    """Attach documents to a running case."""
    engine = settings.engine()
    case = engine.attach_documents(
        case_id, document or [], actor=as_actor(actor, role, agency, actor_id_number),
        on=date(on, "--on"))
    _confirm(engine, case, "documents attached", as_json)


def correct_date(
    case_id: int,
    new_date: Annotated[str, typer.Argument(help="The right business date, YYYY-MM-DD.")],
    reason: Annotated[str, typer.Option(help="Why the date was wrong (kept in the history).")],
    actor: ActorOpt, role: RoleOpt, agency: AgencyOpt = None, as_json: JsonOpt = False,
) -> None:
    """Correct the business date of a case's last step (a supervisor of the case's agency)."""
    engine = settings.engine()
    case = engine.correct_business_date(
        case_id, date(new_date, "the new date"), actor=as_actor(actor, role, agency),
        reason=reason)
    _confirm(engine, case, "date corrected", as_json)


def show(case_id: int, as_json: JsonOpt = False) -> None:
    """Show a case and its spans."""
    engine = settings.engine(read=True)
    _show_case(engine.get(case_id), as_json, engine.spans(case_id))


def history(case_id: int, as_json: JsonOpt = False) -> None:
    """Every step of a case, in order."""
    entries = settings.engine(read=True).history(case_id)
    if as_json:
        print_json([e.to_dict() for e in entries])
        return
    rows = table(f"history of case {case_id}", ("seq", "date", "trigger", "from", "to", "actor",
                                                "documents", "comment"), whole=("seq", "date"))
    for e in entries:
        who = f"{e.actor_role} {e.actor_id}" + (f" @{e.actor_agency}" if e.actor_agency else "")
        row(rows, e.seq, e.business_date, e.trigger, e.from_state or "", e.to_state, who,
            ", ".join(e.documents), e.comment or "")
    out.print(rows)


def list_cases(
    state: Annotated[str | None, typer.Option(
        autocompletion=complete_state, help="Only cases in this state.")] = None,
    agency: Annotated[str | None, typer.Option(help="Origin or destination agency.")] = None,
    definition: Annotated[str | None, typer.Option(
        autocompletion=complete_definition, help="Only this workflow.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many cases.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """List cases."""
    engine = settings.engine(read=True)
    one_of(state, {s for d in engine.definitions for s in d.states}, "--state")
    one_of(definition, {d.name for d in engine.definitions}, "--definition")
    cases = engine.cases(state=state, agency=agency, definition=definition, limit=limit)
    if as_json:
        print_json([c.to_dict() for c in cases])
        return
    rows = table(f"{len(cases)} case(s)", (
        "id", "number", "definition", "state", "person", "ID number", "origin", "destination",
        "opened", "last step"), whole=("id", "number", "ID number", "origin", "destination",
                                        "opened", "last step"))
    for c in cases:
        row(rows, c.id, c.public_number, c.definition, c.state, c.person_name, c.person_id_masked,
            c.origin, c.destination, c.opened_on, c.last_event_on)
    out.print(rows)


def import_cases(
    path: Annotated[Path, typer.Argument(help="CSV file with a header row.")],
    actor: ActorOpt, role: RoleOpt, agency: AgencyOpt = None, on: OnOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Open every application of a CSV file in one batch; a bad line stops it, writing nothing.

    Columns: definition, person_id, person_name, origin, destination, applicant, channel,
    documents (separated by ';'), received_on (YYYY-MM-DD; default --on or today), and for
    medical insurance since 2021 origin_scheme and destination_scheme.
    The file may be UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030/GBK.
    """
    from ..importing import read_applications

    if not path.is_file():
        raise InvalidInput(f"{path} is not a file")
    engine = settings.engine()
    applications = read_applications(path)
    with progress() as bar:
        task = bar.add_task(esc(f"opening cases from {path.name}"), total=None)
        ids = engine.open_cases(applications, actor=as_actor(actor, role, agency),
                                on=date(on, "--on"), first_line=2,
                                progress=lambda n: bar.update(task, completed=n))
    if as_json:
        print_json({"opened": len(ids), "ids": ids})
        return
    span = f" (ids {ids[0]}–{ids[-1]})" if ids else ""
    out.print(f"{len(ids)} case(s) opened{span}; `show ID` gives each one's number, state and "
              "due date")
