"""Rendering the overdue report (built by :mod:`workflow.services.reports`, data of
:mod:`workflow.core.figures`): one module per format — ``csv``, ``xlsx``, ``html`` and the SVG
``chart`` — in Chinese or English, the words from the message catalogues
(:mod:`workflow.i18n`).

Renderers read only the built report and the core: they import neither the services nor the
store (a contract in ``pyproject.toml`` checks it), so every interface may call them.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path

from ..core.figures import OverdueReport
from ..errors import InvalidInput
from .chart import chart_svg
from .csv import write_csv
from .html import write_html
from .labels import LABELS, ReportLabels, ReportWords, check_language, display_width

FORMATS = ("csv", "xlsx", "html")
#: The HTML report's template and the stylesheet the dashboard shares with it.
TEMPLATES = Path(__file__).parent / "templates"


def check_target(fmt: str, path: Path | str) -> Path:
    """Refuse an unknown format or a missing folder (before any work is done)."""
    if fmt not in FORMATS:
        raise InvalidInput(f"report format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    path = Path(path)
    if path.parent and not path.parent.is_dir():
        raise InvalidInput(f"folder {path.parent} does not exist")
    return path


def report_target(fmt: str | None, out: Path | str, as_of: dt.date) -> tuple[str, Path]:
    """The format and file of ``--out``: a folder (one that exists, or a name ending in
    ``/``) gets the default name ``overdue-<as_of>.<fmt>``; a file name gives the format by
    its suffix (``.csv``, ``.xlsx``, ``.html``/``.htm``) unless ``fmt`` is given, and a
    suffix that says another format than ``fmt`` is refused (never HTML in a .xlsx)."""
    text, path = str(out), Path(out)
    if text.endswith(("/", os.sep)) or path.is_dir():
        if not path.is_dir():
            raise InvalidInput(f"folder {path} does not exist")
        fmt = fmt or "html"
        return fmt, check_target(fmt, path / f"overdue-{as_of.isoformat()}.{fmt}")
    suffix = path.suffix.lower().removeprefix(".")
    named = "html" if suffix == "htm" else suffix
    if fmt is None:
        if named not in FORMATS:
            raise InvalidInput(f"cannot tell the report format from {path.name!r}: name the "
                               f"file .csv, .xlsx or .html, or give --format")
        fmt = named
    elif named in FORMATS and named != fmt:
        raise InvalidInput(f"--format {fmt} does not match the file name {path.name!r}")
    return fmt, check_target(fmt, path)


def _writer(fmt: str) -> Callable[[OverdueReport, Path, ReportWords], None]:
    if fmt == "xlsx":
        from .xlsx import write_xlsx  # openpyxl is loaded for a spreadsheet only

        return write_xlsx
    return {"csv": write_csv, "html": write_html}[fmt]


def write_report(report: OverdueReport, fmt: str, path: Path | str,
                 lang: str | None = None) -> Path:
    """Write the report as ``csv``, ``xlsx`` or ``html`` in ``lang`` (``zh`` or ``en``;
    default: the report's, from the settings); the file appears whole or not at all."""
    lang = check_language(lang or report.language)
    path = check_target(fmt, path)
    partial = path.with_name(f".{path.name}.partial")
    try:
        _writer(fmt)(report, partial, ReportWords(report, lang))
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path


__all__ = ["FORMATS", "LABELS", "TEMPLATES", "ReportLabels", "chart_svg", "check_language", "check_target",
           "display_width", "report_target", "write_report"]
