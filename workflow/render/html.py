"""The HTML report: one self-contained, printable page (chart, summary, detail), streamed to
the file; every value is escaped, so stored data is text, never markup."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable, Sequence
from pathlib import Path

from ..core.figures import OverdueReport
from .chart import chart
from .labels import ReportWords

_STYLE = """\
body { font-family: "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif;
       margin: 2em; color: #222; }
table { border-collapse: collapse; margin-bottom: 1.5em; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; }
th { background: #f0f0f0; } td.num { text-align: right; }
svg text { font-size: 12px; font-family: inherit; }
@media print { body { margin: 0; } h2, h3 { break-after: avoid; } tr { break-inside: avoid; } }
"""


def _cells(words: ReportWords, values: Sequence[object], tag: str = "td") -> str:
    """Table cells, escaped: yes/no as a word, rates as percentages, dates in the language's
    form, a missing date as a dash; numbers right-aligned."""
    out = []
    for v in values:
        if isinstance(v, bool):
            v = words.yes(v)
        elif isinstance(v, float):
            v = f"{v:.1%}"
        elif isinstance(v, dt.date):
            v = words.date(v)
        elif v is None:
            v = "–"
        num = ' class="num"' if isinstance(v, int) else ""
        out.append(f"<{tag}{num}>{html.escape(str(v))}</{tag}>")
    return "".join(out)


def write_html(report: OverdueReport, path: Path, words: ReportWords) -> None:
    """One self-contained, printable page: chart, summary, detail (streamed to the file)."""
    e = html.escape
    summary_rows = "\n".join(f"<tr>{_cells(words, words.summary_row(s))}</tr>"
                             for s in report.agencies.values())
    title = e(words.text("title", as_of=report.as_of))
    intro = e(words.text("intro", total=report.total, escalate=report.escalate_after_days,
                         start=report.period_start, end=report.as_of))
    with path.open("w", encoding="utf-8") as f:
        f.write(f"""<!DOCTYPE html>
<html lang="{'zh-CN' if words.lang == 'zh' else 'en'}"><head><meta charset="utf-8">
<title>{title}</title>
<style>
{_STYLE}</style></head><body>
<h1>{title}</h1>
<p>{intro}</p>
<h2>{e(words.text("chart"))}</h2>
{chart(report, words)}
<h2>{e(words.text("summary_heading"))}</h2>
<table><thead><tr>{_cells(words, words.summary_header(), 'th')}</tr></thead><tbody>
{summary_rows}
</tbody></table>
<h2>{e(words.text("detail_heading"))}</h2>
""")
        _detail(report, words, f.write)


def _detail(report: OverdueReport, words: ReportWords, write: Callable[[str], object]) -> None:
    """The overdue spans, one table per agency under its heading (or a line saying none)."""
    e = html.escape
    agency = None
    for x in report.lines():
        if x.agency != agency:
            if agency is not None:
                write("</tbody></table>\n")
            agency = x.agency
            heading = words.text("agency_heading", agency=words.agency(agency),
                                 n=report.agencies[agency].overdue)
            write(f"<h3>{e(heading)}</h3><table><thead><tr>"
                  f"{_cells(words, words.detail_header()[1:], 'th')}</tr></thead><tbody>\n")
        write(f"<tr>{_cells(words, words.detail_row(x)[1:])}</tr>\n")
    write("</tbody></table>\n" if agency is not None else f"<p>{e(words.text('none'))}</p>\n")
    write("</body></html>\n")


__all__ = ["write_html"]
