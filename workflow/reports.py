"""Overdue reports: every overdue and escalated span, by owner agency, as CSV, XLSX or HTML."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import html
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from .errors import InvalidInput
from .rules import mask_person_id
from .store import cases_t, spans_t

if TYPE_CHECKING:
    from .engine import Engine

FORMATS = ("csv", "xlsx", "html")
BUCKETS = ("1–5", "6–10", "11–15", "over 15")
DETAIL_COLUMNS = ("owner agency", "case", "insurance", "person", "ID number", "span", "owner",
                  "started", "due", "working days late", "level", "provisional")
_STREAM = 2000


def bucket(late: int) -> str:
    """The aging bucket of a number of working days late (0 counts with 1–5)."""
    return BUCKETS[0] if late <= 5 else BUCKETS[1] if late <= 10 else BUCKETS[2] \
        if late <= 15 else BUCKETS[3]


@dataclasses.dataclass(frozen=True, slots=True)
class OverdueLine:
    agency: str
    case_id: int
    insurance: str
    person_name: str
    person_id_masked: str
    span: str
    owner: str
    started_on: dt.date
    due_on: dt.date
    working_days_late: int
    level: str
    provisional: bool


@dataclasses.dataclass
class AgencySummary:
    agency: str
    buckets: dict[str, int] = dataclasses.field(default_factory=lambda: dict.fromkeys(BUCKETS, 0))
    overdue: int = 0
    escalated: int = 0
    closed: int = 0
    closed_on_time: int = 0

    @property
    def on_time_rate(self) -> float | None:
        """Share of spans closed in the period that closed on or before their due date."""
        return self.closed_on_time / self.closed if self.closed else None


@dataclasses.dataclass
class OverdueReport:
    as_of: dt.date
    period_start: dt.date
    escalate_after_days: int
    lines: list[OverdueLine]
    agencies: dict[str, AgencySummary]


def build_overdue_report(engine: Engine, as_of: dt.date, *, since: dt.date | None = None,
                         progress: Callable[[int, int], None] | None = None) -> OverdueReport:
    """Every span running on ``as_of`` and past its due date; on-time rates of spans closed
    from ``since`` (default: the 7 days up to ``as_of``). A past ``as_of`` shows what was
    late on that day, including spans that have ended since."""
    period_start = since or as_of - dt.timedelta(days=6)
    if period_start > as_of:
        raise InvalidInput(f"the period starts ({period_start}) after the report date ({as_of})")
    cal, escalate = engine.calendar, engine.settings.escalate_after_days
    agencies: dict[str, AgencySummary] = {}

    def summary(agency: str) -> AgencySummary:
        if agency not in agencies:
            agencies[agency] = AgencySummary(agency)
        return agencies[agency]

    overdue = (sa.select(spans_t.c.owner_agency, spans_t.c.case_id, cases_t.c.insurance,
                         cases_t.c.person_name, cases_t.c.person_id, spans_t.c.name,
                         spans_t.c.owner, spans_t.c.started_on, spans_t.c.due_on,
                         spans_t.c.provisional)
               .join(cases_t, cases_t.c.id == spans_t.c.case_id)
               .where(sa.or_(spans_t.c.ended_on.is_(None), spans_t.c.ended_on > as_of),
                      spans_t.c.due_on < as_of, spans_t.c.started_on <= as_of))
    lines: list[OverdueLine] = []
    with engine.db.connect() as conn:
        total = conn.scalar(sa.select(sa.func.count()).select_from(overdue.subquery()))
        result = conn.execution_options(yield_per=_STREAM).execute(overdue)
        for r in result:
            late = cal.working_days_between(r.due_on, as_of)
            level = "escalated" if late >= escalate else "overdue"
            lines.append(OverdueLine(r.owner_agency, r.case_id, r.insurance, r.person_name,
                                     mask_person_id(r.person_id), r.name, r.owner, r.started_on,
                                     r.due_on, late, level, bool(r.provisional)))
            s = summary(r.owner_agency)
            s.buckets[bucket(late)] += 1
            s.overdue += 1
            s.escalated += level == "escalated"
            if progress and len(lines) % _STREAM == 0:
                progress(len(lines), total)
        closed = conn.execute(
            sa.select(spans_t.c.owner_agency, sa.func.count(),
                      sa.func.sum(sa.case((spans_t.c.ended_on <= spans_t.c.due_on, 1), else_=0)))
            .where(spans_t.c.ended_on.between(period_start, as_of))
            .group_by(spans_t.c.owner_agency))
        for agency, n, on_time in closed:
            s = summary(agency)
            s.closed, s.closed_on_time = n, int(on_time or 0)
    if progress:
        progress(len(lines), total)
    lines.sort(key=lambda x: (x.agency, -x.working_days_late, x.case_id))
    return OverdueReport(as_of, period_start, escalate, lines,
                         dict(sorted(agencies.items())))


def _detail_row(x: OverdueLine) -> list[object]:
    return [x.agency, x.case_id, x.insurance, x.person_name, x.person_id_masked, x.span, x.owner,
            x.started_on, x.due_on, x.working_days_late, x.level, x.provisional]


def _summary_header() -> list[str]:
    return ["owner agency", *(f"{b} working days late" for b in BUCKETS), "overdue",
            "escalated", "closed in period", "closed on time", "on-time rate"]


def _summary_row(s: AgencySummary) -> list[object]:
    return [s.agency, *s.buckets.values(), s.overdue, s.escalated, s.closed, s.closed_on_time,
            s.on_time_rate]


def write_report(report: OverdueReport, fmt: str, path: Path | str) -> Path:
    """Write the report as ``csv``, ``xlsx`` or ``html``; the file appears whole or not at all."""
    if fmt not in FORMATS:
        raise InvalidInput(f"report format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    path = Path(path)
    if path.parent and not path.parent.is_dir():
        raise InvalidInput(f"folder {path.parent} does not exist")
    partial = path.with_name(f".{path.name}.partial")
    try:
        {"csv": _csv, "xlsx": _xlsx, "html": _html}[fmt](report, partial)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def _csv(report: OverdueReport, path: Path) -> None:
    """The detail lines, one per overdue span (summary figures are in XLSX and HTML)."""
    with path.open("w", newline="", encoding="utf-8-sig") as f:
        out = csv.writer(f)
        out.writerow(DETAIL_COLUMNS)
        for x in report.lines:
            row = _detail_row(x)
            row[-1] = "yes" if x.provisional else ""
            out.writerow(v.isoformat() if isinstance(v, dt.date) else v for v in row)


def _xlsx(report: OverdueReport, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook(write_only=False)
    summary = wb.active
    summary.title = "Summary"
    summary.append(_summary_header())
    for s in report.agencies.values():
        summary.append(_summary_row(s))
    for row in summary.iter_rows(min_row=2, min_col=11, max_col=11):
        row[0].number_format = "0.0%"
    detail = wb.create_sheet("Overdue spans")
    detail.append(list(DETAIL_COLUMNS))
    for x in report.lines:
        detail.append(_detail_row(x))
    for row in detail.iter_rows(min_row=2, min_col=8, max_col=9):
        for cell in row:
            cell.number_format = "yyyy-mm-dd"
    for sheet in (summary, detail):
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
        sheet.auto_filter.ref = sheet.dimensions
        for column in sheet.columns:
            sheet.column_dimensions[column[0].column_letter].width = max(
                12, min(40, len(str(column[0].value)) + 2))
    summary.append([])
    summary.append([f"As of {report.as_of}; spans closed {report.period_start} to {report.as_of}; "
                    f"escalated from {report.escalate_after_days} working days late."])
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
        y, x = 10 + i * row_h, left
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
    e = html.escape

    def cells(values: list[object], tag: str = "td") -> str:
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
    sections = []
    by_agency: dict[str, list[OverdueLine]] = defaultdict(list)
    for x in report.lines:
        by_agency[x.agency].append(x)
    for agency, lines in by_agency.items():
        rows = "\n".join(f"<tr>{cells(_detail_row(x)[1:])}</tr>" for x in lines)
        sections.append(f"<h3>Agency {e(agency)}: {len(lines)} overdue span(s)</h3>"
                        f"<table><thead><tr>{cells(list(DETAIL_COLUMNS[1:]), 'th')}</tr></thead>"
                        f"<tbody>{rows}</tbody></table>")
    page = f"""<!DOCTYPE html>
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
<p>{len(report.lines)} span(s) past their time limit; escalated from
{report.escalate_after_days} working days late. On-time rate: spans closed from
{report.period_start} to {report.as_of}. ID numbers are masked.</p>
<h2>Overdue spans per agency by working days late</h2>
{_chart(report)}
<h2>Summary per agency</h2>
<table><thead><tr>{cells(_summary_header(), 'th')}</tr></thead><tbody>
{summary_rows}
</tbody></table>
<h2>Overdue spans</h2>
{''.join(sections) or '<p>None.</p>'}
</body></html>
"""
    path.write_text(page, encoding="utf-8")


__all__ = ["BUCKETS", "FORMATS", "OverdueReport", "bucket", "build_overdue_report", "write_report"]
