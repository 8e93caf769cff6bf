"""The XLSX report: a Summary and an Overdue spans sheet, streamed (openpyxl's write-only
mode); data is written as text cells, never as a formula. Each sheet prints as agencies file
it: a title row with the as-of date, a row naming the issuing unit and the day it was made,
then the header; landscape A4, fitted to the page width, the three rows repeated on every
printed page."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from ..core.figures import OverdueReport
from ..core.inputs import today
from ..errors import InvalidInput
from .labels import ReportWords, display_width

# Characters an XLSX (XML) cell cannot hold; old rows may have them in a name.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
#: Rows of one sheet (the title, issuer and header rows left out).
_MAX_LINES = 1_048_573
#: The least width of each column (a column is at least as wide as its header too).
_SUMMARY_WIDTHS = [22] + [12] * 11
_DETAIL_WIDTHS = [22, 9, 10, 12, 20, 26, 12, 16, 16, 16, 10, 10, 10, 10]
#: The detail columns holding dates: started, committed due, statutory due.
_DATE_COLUMNS = (7, 8, 9)
_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=14)
#: The rows above the data: the title, the issuer and date, the header.
_HEAD_ROWS = 3


def xlsx_text(value: str) -> str:
    """Text an XLSX cell can hold: control characters become U+FFFD (shown, not a crash)."""
    return _CONTROL.sub("\ufffd", value)


def write_xlsx(report: OverdueReport, path: Path, words: ReportWords) -> None:
    """A Summary and an Overdue spans sheet, streamed (openpyxl's write-only mode). Dates are
    real date cells, shown as 2026年11月24日 in Chinese and 2026-11-24 in English; each column
    is at least as wide as its header."""
    if report.total > _MAX_LINES:
        raise InvalidInput(f"{report.total} overdue spans do not fit one XLSX sheet: use CSV")
    wb = Workbook(write_only=True)
    made = today()
    _summary(wb, report, words, made)
    _detail(wb, report, words, made)
    wb.save(path)


def _text(ws: Any, row: list[object]) -> list[object]:
    """Strings as text cells: data such as ``=HYPERLINK(...)`` never becomes a formula."""
    cells = []
    for value in row:
        if isinstance(value, str):
            value = WriteOnlyCell(ws, value=xlsx_text(value))
            value.data_type = "s"
        cells.append(value)
    return cells


def _sheet(wb: Any, title: str, header: list[str], widths: list[int], lines: int,
           report: OverdueReport, words: ReportWords, made: dt.date) -> Any:
    """A sheet with its title row (the report's title and as-of date), the issuing unit and
    the day it was made, its bold header row; frozen below the header, filters over ``lines``
    rows; printed landscape, fitted to the page width, the three rows on every page."""
    ws = wb.create_sheet(title)
    for i, (name, width) in enumerate(zip(header, widths, strict=True), 1):
        ws.column_dimensions[get_column_letter(i)].width = max(width, display_width(name) + 2)
    ws.freeze_panes = f"A{_HEAD_ROWS + 1}"
    last = get_column_letter(len(header))
    ws.auto_filter.ref = f"A{_HEAD_ROWS}:{last}{max(_HEAD_ROWS + 1, lines + _HEAD_ROWS)}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"1:{_HEAD_ROWS}"
    ws.oddFooter.center.text = "&P / &N"  # page numbers when printed
    heading = WriteOnlyCell(ws, value=xlsx_text(words.text("title", as_of=report.as_of)))
    heading.font = _TITLE
    ws.append([heading])
    ws.append(_text(ws, [words.issued(made)]))
    cells = []
    for name in header:
        cell = WriteOnlyCell(ws, value=name)
        cell.font = _BOLD
        cells.append(cell)
    ws.append(cells)
    return ws


def _summary(wb: Any, report: OverdueReport, words: ReportWords, made: dt.date) -> None:
    """Per agency its figures, the on-time rate as a percentage; the period below."""
    ws = _sheet(wb, words.labels.sheets[0], words.summary_header(), _SUMMARY_WIDTHS,
                len(report.agencies), report, words, made)
    for s in report.agencies.values():
        row = words.summary_row(s)
        rate = WriteOnlyCell(ws, value=row[-1])
        rate.number_format = "0.0%"
        ws.append([*_text(ws, row[:-1]), rate])
    ws.append([])
    ws.append([words.text("footnote", as_of=report.as_of, start=report.period_start,
                          end=report.as_of, escalate=report.escalate_after_days)])


def _detail(wb: Any, report: OverdueReport, words: ReportWords, made: dt.date) -> None:
    """One row per overdue span, its dates real date cells in the language's form."""
    ws = _sheet(wb, words.labels.sheets[1], words.detail_header(), _DETAIL_WIDTHS, report.total,
                report, words, made)
    date_format = 'yyyy"年"m"月"d"日"' if words.lang == "zh" else "yyyy-mm-dd"
    for x in report.lines():
        line = words.detail_row(x)
        for i in _DATE_COLUMNS:
            cell = WriteOnlyCell(ws, value=line[i])
            cell.number_format = date_format
            line[i] = cell
        line[-2], line[-1] = words.yes(x.statutory_breach), words.yes(x.provisional)
        ws.append(_text(ws, line))


__all__ = ["write_xlsx", "xlsx_text"]
