"""Reports: the overdue report written as a file."""

from __future__ import annotations

from typing import Annotated

import typer

from .choices import Language, ReportFormat, value
from .common import (
    AsOfOpt,
    JsonOpt,
    SettingsOpt,
    date,
    esc,
    group,
    out,
    print_json,
    progress,
    settings,
)

report_app = group(help="Overdue reports.")


@report_app.command("overdue")
def report_overdue(
    target: Annotated[str, typer.Option(
        "--out", help="File to write (its suffix gives the format), or a folder (DIR/) to "
                      "write overdue-<as-of>.<format> in.")],
    fmt: Annotated[ReportFormat | None, typer.Option(
        "--format", help="Format (default: from the file name; html for a folder).")] = None,
    as_of: AsOfOpt = None,
    since: Annotated[str | None, typer.Option(
        help="Start of the period for on-time rates (default: 7 days up to --as-of).")] = None,
    lang: Annotated[Language | None, typer.Option(
        "--lang", help="The report's language (default: [reports] language of the settings, "
                       "else zh).")] = None,
    settings_file: SettingsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write the overdue report: every overdue and escalated span by owner agency."""
    from ..core.inputs import today
    from ..render import report_target, write_report

    period = date(as_of, "--as-of"), date(since, "--since")
    fmt_name, out_path = report_target(None if fmt is None else fmt.value, target,
                                       period[0] or today())
    engine = settings.engine(settings_file, read=True)
    with progress() as bar:
        task = bar.add_task("collecting overdue spans", total=None)
        report = engine.overdue_report(
            period[0], since=period[1],
            progress=lambda done, total: bar.update(task, completed=done, total=total))
        bar.update(task, description=esc(f"writing {fmt_name}"))
        path = write_report(report, fmt_name, out_path, value(lang))
    if as_json:
        print_json({"as_of": report.as_of.isoformat(), "overdue": report.total,
                    "agencies": len(report.agencies), "format": fmt_name, "path": str(path)})
        return
    out.print(esc(f"{report.total} overdue span(s) in {len(report.agencies)} agencies "
                  f"as of {report.as_of}: {path}"))
