"""Overdue reports: every overdue and escalated span, by owner agency, as CSV, XLSX or HTML."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import html
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ..core.calendar import WorkingCalendar
from ..core.figures import BUCKETS, AgencySummary, OverdueLine, summarise
from ..core.rules import mask_person_id
from ..errors import InvalidInput
from ..settings import Settings
from ..store.port import ReportStore

FORMATS = ("csv", "xlsx", "html")
DETAIL_COLUMNS = ("owner agency", "case", "insurance", "person", "ID number", "span", "owner",
                  "started", "committed due", "statutory due", "working days late", "level",
                  "past statutory due", "provisional")
_STREAM = 2000
# OWASP CSV injection: a cell starting with one of these is a formula to a spreadsheet.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Characters an XLSX (XML) cell cannot hold; old rows may have them in a name.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


@dataclasses.dataclass
class OverdueReport:
    """The summary figures, and the detail lines streamed from the database on demand."""

    as_of: dt.date
    period_start: dt.date
    escalate_after_days: int
    agencies: dict[str, AgencySummary]
    total: int  # overdue spans
    _lines: Callable[[], Iterator[OverdueLine]] = dataclasses.field(repr=False)

    def lines(self) -> Iterator[OverdueLine]:
        """Every overdue span by agency, most working days late first (streamed)."""
        return self._lines()


class ReportService:
    """Builds overdue reports from the report store, the calendar and the settings."""

    def __init__(self, store: ReportStore, calendar: WorkingCalendar, settings: Settings) -> None:
        self.store, self.calendar, self.settings = store, calendar, settings

    def build(self, as_of: dt.date, *, since: dt.date | None = None,
              progress: Callable[[int, int], None] | None = None) -> OverdueReport:
        """Every span running on ``as_of`` and past its due date; on-time rates of spans closed
        from ``since`` (default: the 7 days up to ``as_of``). A past ``as_of`` shows what was
        late on that day, including spans that have ended since."""
        period_start = since or as_of - dt.timedelta(days=6)
        if period_start > as_of:
            raise InvalidInput(f"the period starts ({period_start}) after the report date "
                               f"({as_of})")
        escalate, total = self.settings.escalate_after_days, self.store.overdue_count(as_of)
        seen = 0

        def counted(rows: Iterator[tuple[str, dt.date, dt.date]]) -> Iterator[
                tuple[str, dt.date, dt.date]]:
            nonlocal seen
            for row in rows:
                yield row
                seen += 1
                if progress and seen % _STREAM == 0:
                    progress(seen, total)

        agencies = summarise(counted(self.store.overdue_due_dates(as_of)),
                             self.store.closed_in_period(period_start, as_of), as_of,
                             self.calendar, escalate)
        if progress:
            progress(seen, total)
        return OverdueReport(as_of, period_start, escalate, agencies, total,
                             lambda: self._lines(as_of, escalate))

    def _lines(self, as_of: dt.date, escalate: int) -> Iterator[OverdueLine]:
        for r in self.store.overdue_rows(as_of):
            late = self.calendar.for_agency(r.owner_agency).working_days_between(
                r.committed_due_on or r.due_on, as_of)
            yield OverdueLine(r.owner_agency, r.case_id, r.insurance, r.person_name,
                              mask_person_id(r.person_id), r.name, r.owner, r.started_on,
                              r.committed_due_on, r.due_on, late,
                              "escalated" if late >= escalate else "overdue",
                              r.due_on < as_of, bool(r.provisional))


def _detail_row(x: OverdueLine) -> list[object]:
    return [x.agency, x.case_id, x.insurance, x.person_name, x.person_id_masked, x.span, x.owner,
            x.started_on, x.committed_due_on, x.due_on, x.working_days_late, x.level,
            x.statutory_breach, x.provisional]


def _summary_header() -> list[str]:
    return ["owner agency", *(f"{b} working days late" for b in BUCKETS), "overdue",
            "escalated", "past statutory due", "closed in period", "closed on time",
            "closed within statutory limit", "on-time rate"]


def _summary_row(s: AgencySummary) -> list[object]:
    return [s.agency, *s.buckets.values(), s.overdue, s.escalated, s.statutory_breaches,
            s.closed, s.closed_on_time, s.closed_within_statute, s.on_time_rate]


def check_target(fmt: str, path: Path | str) -> Path:
    """Refuse an unknown format or a missing folder (before any work is done)."""
    if fmt not in FORMATS:
        raise InvalidInput(f"report format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    path = Path(path)
    if path.parent and not path.parent.is_dir():
        raise InvalidInput(f"folder {path.parent} does not exist")
    return path


def write_report(report: OverdueReport, fmt: str, path: Path | str) -> Path:
    """Write the report as ``csv``, ``xlsx`` or ``html``; the file appears whole or not at all."""
    path = check_target(fmt, path)
    partial = path.with_name(f".{path.name}.partial")
    try:
        {"csv": _csv, "xlsx": _xlsx, "html": _html}[fmt](report, partial)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def csv_safe(value: object) -> object:
    """A CSV cell a spreadsheet shows as text: a leading ``= + - @ tab CR`` gets a ``'``."""
    return f"'{value}" if isinstance(value, str) and value.startswith(_FORMULA_START) else value


def xlsx_text(value: str) -> str:
    """Text an XLSX cell can hold: control characters become U+FFFD (shown, not a crash)."""
    return _CONTROL.sub("\ufffd", value)


def _csv(report: OverdueReport, path: Path) -> None:
    """The detail lines, one per overdue span (summary figures are in XLSX and HTML)."""
    with path.open("w", newline="", encoding="utf-8-sig") as f:
        out = csv.writer(f)
        out.writerow(DETAIL_COLUMNS)
        for x in report.lines():
            row = _detail_row(x)
            row[-2] = "yes" if x.statutory_breach else ""
            row[-1] = "yes" if x.provisional else ""
            out.writerow(csv_safe(v.isoformat() if isinstance(v, dt.date) else v) for v in row)


def _xlsx(report: OverdueReport, path: Path) -> None:
    """A Summary and an Overdue spans sheet, streamed (openpyxl's write-only mode)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    if report.total >= 1_048_575:
        raise InvalidInput(f"{report.total} overdue spans do not fit one XLSX sheet: use CSV")
    wb = Workbook(write_only=True)
    bold = Font(bold=True)

    def text(ws: Any, row: list[object]) -> list[object]:
        """Strings as text cells: data such as ``=HYPERLINK(...)`` never becomes a formula."""
        cells = []
        for value in row:
            if isinstance(value, str):
                value = WriteOnlyCell(ws, value=xlsx_text(value))
                value.data_type = "s"
            cells.append(value)
        return cells

    def sheet(title: str, header: list[str], widths: list[int]) -> Any:
        ws = wb.create_sheet(title)
        for i, width in enumerate(widths, 1):
            ws.column_dimensions[get_column_letter(i)].width = width
        ws.freeze_panes = "A2"
        ws.auto_filter.ref = f"A1:{get_column_letter(len(header))}{max(2, rows_of[title] + 1)}"
        cells = []
        for name in header:
            cell = WriteOnlyCell(ws, value=name)
            cell.font = bold
            cells.append(cell)
        ws.append(cells)
        return ws

    rows_of = {"Summary": len(report.agencies), "Overdue spans": report.total}
    summary = sheet("Summary", _summary_header(), [14] + [12] * 12)
    for s in report.agencies.values():
        row = _summary_row(s)
        rate = WriteOnlyCell(summary, value=row[-1])
        rate.number_format = "0.0%"
        summary.append([*text(summary, row[:-1]), rate])
    summary.append([])
    summary.append([f"As of {report.as_of}; spans closed {report.period_start} to {report.as_of}; "
                    f"escalated from {report.escalate_after_days} working days late."])
    detail = sheet("Overdue spans", list(DETAIL_COLUMNS),
                   [14, 9, 10, 12, 20, 26, 12, 12, 12, 12, 10, 10, 10, 10])
    for x in report.lines():
        row = _detail_row(x)
        for i in (7, 8, 9):
            cell = WriteOnlyCell(detail, value=row[i])
            cell.number_format = "yyyy-mm-dd"
            row[i] = cell
        detail.append(text(detail, row))
    wb.save(path)


_COLOURS = dict(zip(BUCKETS, ("#f2c94c", "#f2994a", "#eb5757", "#9b1c1c"), strict=True))


def _chart(report: OverdueReport) -> str:
    """A stacked horizontal bar chart of overdue spans per agency by aging bucket (inline SVG)."""
    agencies = [s for s in report.agencies.values() if s.overdue]
    if not agencies:
        return "<p>No overdue spans.</p>"
    top = max(s.overdue for s in agencies)
    bar_w, row_h, left = 520, 26, 90
    height = row_h * len(agencies) + 50
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{left + bar_w + 60}" '
             f'height="{height}" aria-label="Overdue spans per agency by working days late">']
    for i, s in enumerate(agencies):
        y, x = 10 + i * row_h, float(left)
        parts.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end">{html.escape(s.agency)}</text>')
        for b in BUCKETS:
            w = bar_w * s.buckets[b] / top
            if w:
                parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row_h - 6}" '
                             f'fill="{_COLOURS[b]}"><title>{s.agency} {b}: {s.buckets[b]}</title></rect>')
            x += w
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 15}">{s.overdue}</text>')
    y = 10 + len(agencies) * row_h + 12
    for j, b in enumerate(BUCKETS):
        parts.append(f'<rect x="{left + j * 120}" y="{y}" width="12" height="12" fill="{_COLOURS[b]}"/>'
                     f'<text x="{left + j * 120 + 16}" y="{y + 11}">{b} days late</text>')
    parts.append("</svg>")
    return "".join(parts)


def _html(report: OverdueReport, path: Path) -> None:
    """One self-contained, printable page: chart, summary, detail (streamed to the file)."""
    e = html.escape

    def cells(values: Sequence[object], tag: str = "td") -> str:
        out = []
        for v in values:
            if isinstance(v, bool):
                v = "yes" if v else ""
            elif isinstance(v, float):
                v = f"{v:.1%}"
            elif v is None:
                v = "–"
            num = ' class="num"' if isinstance(v, int) else ""
            out.append(f"<{tag}{num}>{e(str(v))}</{tag}>")
        return "".join(out)

    summary_rows = "\n".join(f"<tr>{cells(_summary_row(s))}</tr>"
                             for s in report.agencies.values())
    with path.open("w", encoding="utf-8") as f:
        f.write(f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Overdue report as of {report.as_of}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin-bottom: 1.5em; font-size: 13px; }}
th, td {{ border: 1px solid #ccc; padding: 3px 8px; text-align: left; }}
th {{ background: #f0f0f0; }} td.num {{ text-align: right; }}
svg text {{ font-size: 12px; font-family: sans-serif; }}
@media print {{ body {{ margin: 0; }} h2, h3 {{ break-after: avoid; }} tr {{ break-inside: avoid; }} }}
</style></head><body>
<h1>Overdue report as of {report.as_of}</h1>
<p>{report.total} span(s) past their time limit (an agency's committed limit where it has one,
else the statutory one); escalated from {report.escalate_after_days} working days late.
On-time rate: spans closed from {report.period_start} to {report.as_of}. ID numbers are masked.</p>
<h2>Overdue spans per agency by working days late</h2>
{_chart(report)}
<h2>Summary per agency</h2>
<table><thead><tr>{cells(_summary_header(), 'th')}</tr></thead><tbody>
{summary_rows}
</tbody></table>
<h2>Overdue spans</h2>
""")
        agency = None
        for x in report.lines():
            if x.agency != agency:
                if agency is not None:
                    f.write("</tbody></table>\n")
                agency = x.agency
                f.write(f"<h3>Agency {e(agency)}: {report.agencies[agency].overdue} overdue "
                        f"span(s)</h3><table><thead><tr>{cells(list(DETAIL_COLUMNS[1:]), 'th')}"
                        f"</tr></thead><tbody>\n")
            f.write(f"<tr>{cells(_detail_row(x)[1:])}</tr>\n")
        f.write("</tbody></table>\n" if agency is not None else "<p>None.</p>\n")
        f.write("</body></html>\n")


__all__ = ["FORMATS", "OverdueReport", "ReportService", "check_target", "write_report"]
