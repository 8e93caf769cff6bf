"""Reports: the overdue report written as a file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import AsOfOpt, SettingsOpt, date, esc, group, out, progress, settings

report_app = group(help="Overdue reports.")


@report_app.command("overdue")
def report_overdue(
    out_path: Annotated[Path, typer.Option("--out", help="File to write.")],
    fmt: Annotated[str, typer.Option("--format", help="csv, xlsx or html.")] = "html",
    as_of: AsOfOpt = None,
    since: Annotated[str | None, typer.Option(
        help="Start of the period for on-time rates (default: 7 days up to --as-of).")] = None,
    lang: Annotated[str | None, typer.Option(
        "--lang", help="zh or en (default: [reports] language of the settings, else zh).")] = None,
    settings_file: SettingsOpt = None,
) -> None:
    """Write the overdue report: every overdue and escalated span by owner agency."""
    from ..render import check_language, check_target, write_report

    check_target(fmt, out_path)
    if lang is not None:
        check_language(lang)
    engine = settings.engine(settings_file, read=True)
    period = date(as_of, "--as-of"), date(since, "--since")
    with progress() as bar:
        task = bar.add_task("collecting overdue spans", total=None)
        report = engine.overdue_report(
            period[0], since=period[1],
            progress=lambda done, total: bar.update(task, completed=done, total=total))
        bar.update(task, description=esc(f"writing {fmt}"))
        path = write_report(report, fmt, out_path, lang)
    out.print(esc(f"{report.total} overdue span(s) in {len(report.agencies)} agencies "
                  f"as of {report.as_of}: {path}"))
