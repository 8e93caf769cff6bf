"""The service: the REST API and pages served, the scheduler run, and the API tokens."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import InvalidInput
from .choices import TokenRole, Weekday, value
from .common import (
    ActorOpt,
    AgencyOpt,
    IdNumberOpt,
    JsonOpt,
    SettingsOpt,
    esc,
    group,
    out,
    print_json,
    row,
    settings,
    table,
)

scheduler_app = group(help="The scheduler of scans and reports.")
tokens_app = group(help="API tokens of the service (stored hashed).")


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (each with its own engine).")] = 1,
    request_log: Annotated[bool, typer.Option(
        help="Log every HTTP request line (uvicorn's access log, at the info level). Off by "
             "default; who read which case is in the database's access log either way.")
    ] = False,
    settings_file: SettingsOpt = None,
) -> None:
    """Serve the REST API (/api/v1, schema at /docs), the supervisors' dashboard (/) and the
    person's progress page (/progress) with uvicorn. Every request needs a token from
    `sstransfer tokens create` (the progress page asks for the case number and ID number)."""
    import uvicorn

    if not 1 <= port <= 65535:
        raise InvalidInput(f"--port must be 1 to 65535, not {port}")
    if not 1 <= workers <= 64:
        raise InvalidInput(f"--workers must be 1 to 64, not {workers}")
    engine = settings.engine(settings_file, read=True)  # checks the database and settings now
    log_level = logging.getLevelName(settings.log_level).lower()
    # X-Forwarded-For/-Proto are believed only from the proxies the settings name (none by
    # default: a client could otherwise name a fresh address on every try).
    proxies = engine.settings.trusted_proxies
    trust, allowed = bool(proxies), ",".join(proxies)
    # One line: where it listens, the database (its password hidden), the workers.
    out.print(esc(f"sstransfer serving on http://{host}:{port} (database "
                  f"{engine.db.url!r}, {workers} worker{'s' if workers > 1 else ''}; "
                  f"health /healthz, readiness /readyz, metrics /metrics)"))
    if workers == 1:
        from ..api import create_app

        uvicorn.run(create_app(engine, close_engine=True), host=host, port=port,
                    log_level=log_level, proxy_headers=trust, forwarded_allow_ips=allowed,
                    access_log=request_log)
        return
    engine.close()
    _hand_to_workers(engine.url, settings_file)
    uvicorn.run("workflow.api:from_environment", factory=True, host=host, port=port,
                workers=workers, log_level=log_level, proxy_headers=trust,
                forwarded_allow_ips=allowed, access_log=request_log)


def _hand_to_workers(url: str, settings_file: Path | None) -> None:
    """The environment each worker process makes its own engine from."""
    import os

    from ..api.app import LOG_LEVEL_ENV
    from ..api.ops import MULTIPROC_ENV
    from ..engine import URL_ENV
    from ..loading import DEFINITIONS_ENV
    from ..settings import SETTINGS_ENV

    os.environ[URL_ENV] = url
    os.environ[LOG_LEVEL_ENV] = str(settings.log_level)
    # The workers' request metrics are written to one folder and added up at each scrape.
    if not os.environ.get(MULTIPROC_ENV):
        import atexit
        import shutil
        import tempfile

        folder = tempfile.mkdtemp(prefix="sstransfer-metrics-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        os.environ[MULTIPROC_ENV] = folder
    if settings.definitions is not None:
        os.environ[DEFINITIONS_ENV] = str(settings.definitions)
    if settings_file is not None:
        os.environ[SETTINGS_ENV] = str(settings_file)


@scheduler_app.command("run")
def scheduler_run(
    settings_file: SettingsOpt = None,
    scan_at: Annotated[str | None, typer.Option(help="Daily scan time HH:MM (China).")] = None,
    report_day: Annotated[Weekday | None, typer.Option(help="Weekly report day.")] = None,
    report_at: Annotated[str | None, typer.Option(help="Weekly report time HH:MM.")] = None,
    report_dir: Annotated[Path | None, typer.Option(help="Folder for report files.")] = None,
) -> None:
    """Run the scheduler in the foreground until interrupted (Ctrl+C)."""
    import signal
    import threading

    from ..logs import to_stderr

    # A service logs every run: at least the info level, whatever --log-level said.
    to_stderr(min(settings.log_level, logging.INFO))
    engine = settings.engine(settings_file, scan_at=scan_at, report_day=value(report_day),
                             report_at=report_at, report_dir=report_dir)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    engine.start_scheduler()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        engine.shutdown()


if TYPE_CHECKING:
    from ..records import ApiToken


@tokens_app.command("create")
def tokens_create(
    actor: ActorOpt,
    role: Annotated[TokenRole, typer.Option(
        "--role", help="Who the token acts as (clerk: the origin or the destination clerk, "
                       "by the case).")],
    agency: AgencyOpt = None,
    province: Annotated[str | None, typer.Option(
        help="A supervisor granted a whole province: its 2-digit code.")] = None,
    id_number: IdNumberOpt = None,
    label: Annotated[str, typer.Option(help="A note on what the token is for.")] = "",
    department: Annotated[list[str] | None, typer.Option(
        "--department", help="A clerk's or supervisor's department: pension or medical "
                             "(required for them); a supervisor granted both gives it twice, "
                             "or 'both'.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an API token for an actor; the token is printed once and stored only hashed."""
    token, record = settings.engine().create_token(
        actor, role.value, agency, province=province, person_id=id_number, label=label,
        departments=department or None, department_required=True)
    departments = record.departments.split(",") if record.departments else []
    if as_json:
        print_json({"token": token, "id": record.id, "actor": record.actor_id,
                    "role": record.role, "agency": record.agency, "province": record.province,
                    "departments": departments})
        return
    out.print(esc(f"token {record.id} for {record.role} {record.actor_id}"
                  + (f" of {record.province or record.agency}"
                     if record.province or record.agency else "")
                  + (f" ({' and '.join(departments)} department)" if departments else "")
                  + " (shown only now):"))
    print(token)


@tokens_app.command("list")
def tokens_list(as_json: JsonOpt = False) -> None:
    """The API tokens (never their secrets), revoked ones included."""
    from ..core.access import is_staff_role

    records = settings.engine(read=True).tokens()
    if as_json:
        print_json([{**r.model_dump(mode="json", exclude={"token_hash", "person_id"}),
                     "departments": _departments(r), "department_named": bool(r.departments)}
                    for r in records])
        return
    rows = table("API tokens", ("id", "actor", "role", "agency", "province", "departments",
                                "label", "created", "revoked"),
                 whole=("id", "agency", "province", "created", "revoked"))
    for r in records:
        shown = ("" if not is_staff_role(r.role) else r.departments.replace(",", ", ")
                 if r.departments else "both (no department named: reissue)")
        row(rows, r.id, r.actor_id, r.role, r.agency or "", r.province or "", shown, r.label,
            r.created_at.isoformat(timespec="seconds"),
            r.revoked_at.isoformat(timespec="seconds") if r.revoked_at else "")
    out.print(rows)


def _departments(record: ApiToken) -> list[str]:
    """The departments a token works in: as named; both for a staff token made before
    departments (``department_named`` false says so); none for an applicant's."""
    from ..core.access import is_staff_role, token_departments

    return list(token_departments(record)) if is_staff_role(record.role) else []


@tokens_app.command("revoke")
def tokens_revoke(token_id: Annotated[int, typer.Argument(help="The token's id.")],
                  as_json: JsonOpt = False) -> None:
    """Revoke an API token: requests with it are refused from now on (by a running server
    within [api] token_cache_seconds, 5 s by default)."""
    settings.engine(read=True).revoke_token(token_id)
    if as_json:
        print_json({"token": token_id, "revoked": True})
        return
    out.print(f"token {token_id} revoked")
