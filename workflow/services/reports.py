"""Overdue reports: every overdue and escalated span, by owner agency, as CSV, XLSX or HTML."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import html
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ..core.calendar import WorkingCalendar
from ..core.definitions import LANGUAGES, Definition
from ..core.divisions import name_of
from ..core.figures import BUCKETS, AgencySummary, OverdueLine, summarise
from ..core.rules import mask_person_id
from ..core.views import format_date
from ..errors import InvalidInput, WorkflowError
from ..ports import ReportStore
from ..settings import Settings

FORMATS = ("csv", "xlsx", "html")
@dataclasses.dataclass(frozen=True)
class ReportLabels:
    """The words of a report in one language that are not names from the definitions; the
    ``{...}`` of the sentences are filled in."""

    detail: tuple[str, ...]  # the detail columns
    summary: tuple[str, ...]  # the summary columns, the aging buckets left out
    bucket: dict[str, str]
    level: dict[str, str]
    owner: dict[str, str]
    insurance: dict[str, str]
    yes: str
    sheets: tuple[str, str]  # the XLSX sheets: summary, detail
    title: str
    intro: str
    footnote: str
    chart: str
    summary_heading: str
    detail_heading: str
    agency_heading: str
    no_overdue: str
    none: str


#: The words of a report that are not names from the definitions (span titles come from the
#: definitions, agency names from GB/T 2260), one table per language; ``{...}`` are filled in.
LABELS: dict[str, ReportLabels] = {
    "zh": ReportLabels(
        detail=("经办机构", "案件编号", "险种", "参保人", "身份证号码", "办理环节", "责任方",
                "开始日期", "承诺办结日期", "法定办结日期", "逾期工作日", "级别",
                "超过法定时限", "日期暂定"),
        summary=("经办机构", "逾期", "升级督办", "超过法定时限", "期内办结", "按时办结",
                 "法定时限内办结", "按时办结率"),
        bucket=dict(zip(BUCKETS, ("逾期1–5个工作日", "逾期6–10个工作日", "逾期11–15个工作日",
                                  "逾期15个工作日以上"), strict=True)),
        level={"overdue": "逾期", "escalated": "升级督办"},
        owner={"origin": "转出地", "destination": "转入地", "person": "参保人"},
        insurance={"pension": "养老保险", "medical": "医疗保险"},
        yes="是",
        sheets=("汇总", "逾期环节"),
        title="超期办理报表（截至{as_of}）",
        intro="{total}个办理环节超过时限（有承诺时限的按承诺时限，否则按法定时限）；逾期"
              "{escalate}个工作日起升级督办。按时办结率统计{start}至{end}办结的环节。"
              "身份证号码已部分隐去。",
        footnote="截至{as_of}；统计{start}至{end}办结的环节；逾期{escalate}个工作日起升级督办。",
        chart="各经办机构逾期环节（按逾期工作日）",
        summary_heading="各经办机构汇总",
        detail_heading="逾期环节",
        agency_heading="{agency}：逾期环节{n}个",
        no_overdue="没有逾期环节。",
        none="无。",
    ),
    "en": ReportLabels(
        detail=("owner agency", "case", "insurance", "person", "ID number", "span", "owner",
                "started", "committed due", "statutory due", "working days late", "level",
                "past statutory due", "provisional"),
        summary=("owner agency", "overdue", "escalated", "past statutory due",
                 "closed in period", "closed on time", "closed within statutory limit",
                 "on-time rate"),
        bucket={b: f"{b} working days late" for b in BUCKETS},
        level={"overdue": "overdue", "escalated": "escalated"},
        owner={"origin": "origin", "destination": "destination", "person": "person"},
        insurance={"pension": "pension", "medical": "medical"},
        yes="yes",
        sheets=("Summary", "Overdue spans"),
        title="Overdue report as of {as_of}",
        intro="{total} span(s) past their time limit (an agency's committed limit where it "
              "has one, else the statutory one); escalated from {escalate} working days "
              "late. On-time rate: spans closed from {start} to {end}. ID numbers are masked.",
        footnote="As of {as_of}; spans closed {start} to {end}; escalated from {escalate} "
                 "working days late.",
        chart="Overdue spans per agency by working days late",
        summary_heading="Summary per agency",
        detail_heading="Overdue spans",
        agency_heading="Agency {agency}: {n} overdue span(s)",
        no_overdue="No overdue spans.",
        none="None.",
    ),
}
#: The detail columns of an English report (the CSV header with ``lang="en"``).
DETAIL_COLUMNS = LABELS["en"].detail
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
    #: The language the report is written in unless ``write_report`` is told otherwise.
    language: str = LANGUAGES[0]
    #: A span's title in a language, from the definition its case runs on.
    span_title: Callable[[OverdueLine, str], str] = dataclasses.field(
        default=lambda line, lang: line.span, repr=False)
    #: An agency's name from its division code (None: unknown).
    agency_name: Callable[[str], str | None] = dataclasses.field(default=name_of, repr=False)

    def lines(self) -> Iterator[OverdueLine]:
        """Every overdue span by agency, most working days late first (streamed)."""
        return self._lines()


class ReportService:
    """Builds overdue reports from the report store, the calendar and the settings."""

    def __init__(self, store: ReportStore, calendar: WorkingCalendar, settings: Settings,
                 definition: Callable[[str, int | None], Definition] | None = None,
                 agency_name: Callable[[str], str | None] = name_of) -> None:
        """``definition(name, version)`` gives a definition version (``None``: the latest),
        where span titles come from; ``agency_name`` names a division code."""
        self.store, self.calendar, self.settings = store, calendar, settings
        self.definition, self.agency_name = definition, agency_name

    def span_title(self, line: OverdueLine, lang: str) -> str:
        """The span's title in ``lang`` from its case's definition version; a version stored
        without titles borrows the latest version's; else the span's name."""
        if self.definition is None or not line.definition:
            return line.span
        for version in (line.definition_version, None):
            try:
                title = self.definition(line.definition, version).title("span", line.span, lang)
            except WorkflowError:
                continue
            if title != line.span:
                return title
        return line.span

    def build(self, as_of: dt.date, *, since: dt.date | None = None,
              progress: Callable[[int, int], None] | None = None,
              agencies: Sequence[str] | None = None,
              province: str | None = None) -> OverdueReport:
        """Every span running on ``as_of`` and past its due date; on-time rates of spans closed
        from ``since`` (default: the 7 days up to ``as_of``). A past ``as_of`` shows what was
        late on that day, including spans that have ended since. ``agencies``/``province``:
        only the spans owned by those agencies / the agencies of that province (2 digits)."""
        scope: dict[str, Any] = {"agencies": agencies, "province": province}
        period_start = since or as_of - dt.timedelta(days=6)
        if period_start > as_of:
            raise InvalidInput(f"the period starts ({period_start}) after the report date "
                               f"({as_of})")
        escalate, total = self.settings.escalate_after_days, self.store.overdue_count(as_of,
                                                                                   **scope)
        seen = 0

        def counted(rows: Iterator[tuple[str, dt.date, dt.date]]) -> Iterator[
                tuple[str, dt.date, dt.date]]:
            nonlocal seen
            for row in rows:
                yield row
                seen += 1
                if progress and seen % _STREAM == 0:
                    progress(seen, total)

        summaries = summarise(counted(self.store.overdue_due_dates(as_of, **scope)),
                              self.store.closed_in_period(period_start, as_of, **scope), as_of,
                              self.calendar, escalate)
        if progress:
            progress(seen, total)
        return OverdueReport(as_of, period_start, escalate, summaries, total,
                             lambda: self._lines(as_of, escalate, scope), self.settings.language,
                             self.span_title, self.agency_name)

    def _lines(self, as_of: dt.date, escalate: int,
               scope: dict[str, Any]) -> Iterator[OverdueLine]:
        for r in self.store.overdue_rows(as_of, **scope):
            late = self.calendar.for_agency(r.owner_agency).working_days_between(
                r.committed_due_on or r.due_on, as_of)
            yield OverdueLine(r.owner_agency, r.case_id, r.insurance, r.person_name,
                              mask_person_id(r.person_id), r.name, r.owner, r.started_on,
                              r.committed_due_on, r.due_on, late,
                              "escalated" if late >= escalate else "overdue",
                              r.due_on < as_of, bool(r.provisional), r.definition_name,
                              r.definition_version)


class _Words:
    """What a report in one language says: labels from :data:`LABELS`, span titles from the
    definitions, agencies as code and name, dates as 2026年11月24日 (zh) or ISO (en)."""

    def __init__(self, report: OverdueReport, lang: str) -> None:
        self.report, self.lang, self.labels = report, lang, LABELS[lang]

    def text(self, key: str, **values: object) -> str:
        """A sentence of the labels, its ``{...}`` filled in (dates in this language's form)."""
        return str(getattr(self.labels, key)).format(**{
            k: self.date(v) if isinstance(v, dt.date) else v for k, v in values.items()})

    def agency(self, code: str) -> str:
        """``440300 深圳市``: the division code and its GB/T 2260 name (the code alone if unknown)."""
        name = self.report.agency_name(code)
        return f"{code} {name}" if name else code

    def date(self, day: dt.date) -> str:
        return format_date(day, self.lang)

    def detail_header(self) -> list[str]:
        return list(self.labels.detail)

    def detail_row(self, x: OverdueLine) -> list[object]:
        label = self.labels
        return [self.agency(x.agency), x.case_id, label.insurance.get(x.insurance, x.insurance),
                x.person_name, x.person_id_masked, self.report.span_title(x, self.lang),
                label.owner.get(x.owner, x.owner), x.started_on, x.committed_due_on, x.due_on,
                x.working_days_late, label.level.get(x.level, x.level), x.statutory_breach,
                x.provisional]

    def summary_header(self) -> list[str]:
        first, *rest = self.labels.summary
        return [first, *(self.labels.bucket[b] for b in BUCKETS), *rest]

    def summary_row(self, s: AgencySummary) -> list[object]:
        return [self.agency(s.agency), *s.buckets.values(), s.overdue, s.escalated,
                s.statutory_breaches, s.closed, s.closed_on_time, s.closed_within_statute,
                s.on_time_rate]


def display_width(text: str) -> int:
    """Columns ``text`` takes in a spreadsheet: a CJK (wide) character takes two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def check_target(fmt: str, path: Path | str) -> Path:
    """Refuse an unknown format or a missing folder (before any work is done)."""
    if fmt not in FORMATS:
        raise InvalidInput(f"report format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    path = Path(path)
    if path.parent and not path.parent.is_dir():
        raise InvalidInput(f"folder {path.parent} does not exist")
    return path


def check_language(lang: str) -> str:
    """Refuse a report language other than ``zh`` and ``en``."""
    if lang not in LABELS:
        raise InvalidInput(f"report language must be one of {', '.join(LABELS)}, not {lang!r}")
    return lang


def write_report(report: OverdueReport, fmt: str, path: Path | str,
                 lang: str | None = None) -> Path:
    """Write the report as ``csv``, ``xlsx`` or ``html`` in ``lang`` (``zh`` or ``en``;
    default: the report's, from the settings); the file appears whole or not at all."""
    lang = check_language(lang or report.language)
    path = check_target(fmt, path)
    partial = path.with_name(f".{path.name}.partial")
    try:
        {"csv": _csv, "xlsx": _xlsx, "html": _html}[fmt](report, partial, _Words(report, lang))
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


def _csv(report: OverdueReport, path: Path, words: _Words) -> None:
    """The detail lines, one per overdue span (summary figures are in XLSX and HTML). Dates
    stay ISO (2026-11-24) in either language: a spreadsheet or a program reads them as dates."""
    with path.open("w", newline="", encoding="utf-8-sig") as f:
        out = csv.writer(f)
        out.writerow(csv_safe(v) for v in words.detail_header())
        for x in report.lines():
            row = words.detail_row(x)
            row[-2] = words.labels.yes if x.statutory_breach else ""
            row[-1] = words.labels.yes if x.provisional else ""
            out.writerow(csv_safe(v.isoformat() if isinstance(v, dt.date) else v) for v in row)


def _xlsx(report: OverdueReport, path: Path, words: _Words) -> None:
    """A Summary and an Overdue spans sheet, streamed (openpyxl's write-only mode). Dates are
    real date cells, shown as 2026年11月24日 in Chinese and 2026-11-24 in English; each column
    is at least as wide as its header."""
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
        for i, (name, width) in enumerate(zip(header, widths, strict=True), 1):
            ws.column_dimensions[get_column_letter(i)].width = max(width, display_width(name) + 2)
        ws.freeze_panes = "A2"
        ws.auto_filter.ref = f"A1:{get_column_letter(len(header))}{max(2, rows_of[title] + 1)}"
        cells = []
        for name in header:
            cell = WriteOnlyCell(ws, value=name)
            cell.font = bold
            cells.append(cell)
        ws.append(cells)
        return ws

    summary_title, detail_title = words.labels.sheets
    rows_of = {summary_title: len(report.agencies), detail_title: report.total}
    date_format = 'yyyy"年"m"月"d"日"' if words.lang == "zh" else "yyyy-mm-dd"
    summary = sheet(summary_title, words.summary_header(), [22] + [12] * 11)
    for s in report.agencies.values():
        row = words.summary_row(s)
        rate = WriteOnlyCell(summary, value=row[-1])
        rate.number_format = "0.0%"
        summary.append([*text(summary, row[:-1]), rate])
    summary.append([])
    summary.append([words.text("footnote", as_of=report.as_of, start=report.period_start,
                               end=report.as_of, escalate=report.escalate_after_days)])
    detail = sheet(detail_title, words.detail_header(),
                   [22, 9, 10, 12, 20, 26, 12, 16, 16, 16, 10, 10, 10, 10])
    yes = words.labels.yes
    for x in report.lines():
        line = list(words.detail_row(x))
        for i in (7, 8, 9):
            cell = WriteOnlyCell(detail, value=line[i])
            cell.number_format = date_format
            line[i] = cell
        line[-2], line[-1] = (yes if x.statutory_breach else ""), (yes if x.provisional else "")
        detail.append(text(detail, line))
    wb.save(path)


_COLOURS = dict(zip(BUCKETS, ("#f2c94c", "#f2994a", "#eb5757", "#9b1c1c"), strict=True))


def _chart(report: OverdueReport, words: _Words) -> str:
    """A stacked horizontal bar chart of overdue spans per agency by aging bucket (inline SVG)."""
    e = html.escape
    agencies = [s for s in report.agencies.values() if s.overdue]
    if not agencies:
        return f"<p>{e(words.text('no_overdue'))}</p>"
    buckets = words.labels.bucket
    top = max(s.overdue for s in agencies)
    # Room on the left for the longest "code name" label (about 7 px a column at 12 px).
    left = max(90, 16 + 7 * max(display_width(words.agency(s.agency)) for s in agencies))
    bar_w, row_h, step = 520, 26, 170
    height = row_h * len(agencies) + 50
    width = max(left + bar_w + 60, left + step * len(BUCKETS))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
             f'height="{height}" aria-label="{e(words.text("chart"))}">']
    for i, s in enumerate(agencies):
        y, x = 10 + i * row_h, float(left)
        agency = e(words.agency(s.agency))
        parts.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end">{agency}</text>')
        for b in BUCKETS:
            w = bar_w * s.buckets[b] / top
            if w:
                parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row_h - 6}" '
                             f'fill="{_COLOURS[b]}"><title>{agency} {e(buckets[b])}: '
                             f'{s.buckets[b]}</title></rect>')
            x += w
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 15}">{s.overdue}</text>')
    y = 10 + len(agencies) * row_h + 12
    for j, b in enumerate(BUCKETS):
        parts.append(f'<rect x="{left + j * step}" y="{y}" width="12" height="12" '
                     f'fill="{_COLOURS[b]}"/><text x="{left + j * step + 16}" y="{y + 11}">'
                     f'{e(buckets[b])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def chart_svg(report: OverdueReport, lang: str | None = None) -> str:
    """The report's chart as inline SVG markup in ``lang`` (the dashboard's overdue board
    shows the same chart as the HTML report)."""
    return _chart(report, _Words(report, check_language(lang or report.language)))


def _html(report: OverdueReport, path: Path, words: _Words) -> None:
    """One self-contained, printable page: chart, summary, detail (streamed to the file)."""
    e = html.escape
    yes = words.labels.yes

    def cells(values: Sequence[object], tag: str = "td") -> str:
        out = []
        for v in values:
            if isinstance(v, bool):
                v = yes if v else ""
            elif isinstance(v, float):
                v = f"{v:.1%}"
            elif isinstance(v, dt.date):
                v = words.date(v)
            elif v is None:
                v = "–"
            num = ' class="num"' if isinstance(v, int) else ""
            out.append(f"<{tag}{num}>{e(str(v))}</{tag}>")
        return "".join(out)

    summary_rows = "\n".join(f"<tr>{cells(words.summary_row(s))}</tr>"
                             for s in report.agencies.values())
    title = e(words.text("title", as_of=report.as_of))
    intro = e(words.text("intro", total=report.total, escalate=report.escalate_after_days,
                         start=report.period_start, end=report.as_of))
    with path.open("w", encoding="utf-8") as f:
        f.write(f"""<!DOCTYPE html>
<html lang="{'zh-CN' if words.lang == 'zh' else 'en'}"><head><meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif;
       margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin-bottom: 1.5em; font-size: 13px; }}
th, td {{ border: 1px solid #ccc; padding: 3px 8px; text-align: left; }}
th {{ background: #f0f0f0; }} td.num {{ text-align: right; }}
svg text {{ font-size: 12px; font-family: inherit; }}
@media print {{ body {{ margin: 0; }} h2, h3 {{ break-after: avoid; }} tr {{ break-inside: avoid; }} }}
</style></head><body>
<h1>{title}</h1>
<p>{intro}</p>
<h2>{e(words.text("chart"))}</h2>
{_chart(report, words)}
<h2>{e(words.text("summary_heading"))}</h2>
<table><thead><tr>{cells(list(words.summary_header()), 'th')}</tr></thead><tbody>
{summary_rows}
</tbody></table>
<h2>{e(words.text("detail_heading"))}</h2>
""")
        agency = None
        for x in report.lines():
            if x.agency != agency:
                if agency is not None:
                    f.write("</tbody></table>\n")
                agency = x.agency
                heading = words.text("agency_heading", agency=words.agency(agency),
                                     n=report.agencies[agency].overdue)
                f.write(f"<h3>{e(heading)}</h3><table><thead><tr>"
                        f"{cells(words.detail_header()[1:], 'th')}</tr></thead><tbody>\n")
            f.write(f"<tr>{cells(words.detail_row(x)[1:])}</tr>\n")
        f.write("</tbody></table>\n" if agency is not None
                else f"<p>{e(words.text('none'))}</p>\n")
        f.write("</body></html>\n")


__all__ = ["DETAIL_COLUMNS", "FORMATS", "LABELS", "OverdueReport", "ReportLabels", "ReportService",
           "chart_svg", "check_language", "check_target", "display_width", "write_report"]
