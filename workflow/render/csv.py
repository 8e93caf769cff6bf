"""The CSV report: the detail lines, one per overdue span; a cell is never a formula."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from ..core.figures import OverdueReport
from .labels import ReportWords

# OWASP CSV injection: a cell starting with one of these is a formula to a spreadsheet.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: object) -> object:
    """A CSV cell a spreadsheet shows as text: a leading ``= + - @ tab CR`` gets a ``'``."""
    return f"'{value}" if isinstance(value, str) and value.startswith(_FORMULA_START) else value


def write_csv(report: OverdueReport, path: Path, words: ReportWords) -> None:
    """The detail lines, one per overdue span (summary figures are in XLSX and HTML). Dates
    stay ISO (2026-11-24) in either language: a spreadsheet or a program reads them as dates."""
    with path.open("w", newline="", encoding="utf-8-sig") as f:
        out = csv.writer(f)
        out.writerow(csv_safe(v) for v in words.detail_header())
        for x in report.lines():
            row = words.detail_row(x)
            row[-2], row[-1] = words.yes(x.statutory_breach), words.yes(x.provisional)
            out.writerow(csv_safe(v.isoformat() if isinstance(v, dt.date) else v) for v in row)


__all__ = ["csv_safe", "write_csv"]
