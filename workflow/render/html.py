"""The HTML report: one self-contained, printable page (chart, summary, detail) from the
``report.html`` Jinja2 template, in the dashboard's own stylesheet, naming the issuing unit
and the day it was made, with page numbers when printed; streamed to the file (the detail
lines are read as they are written). Every value is escaped by the template, so stored data
is text, never markup."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import jinja2
from markupsafe import Markup

from ..core.figures import OverdueReport
from ..core.inputs import today
from ..i18n import install
from .chart import chart
from .labels import ReportWords

_ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                          autoescape=True, trim_blocks=True, lstrip_blocks=True,
                          undefined=jinja2.StrictUndefined)
install(_ENV)


@dataclasses.dataclass(frozen=True, slots=True)
class Cell:
    """A table cell's text (escaped by the template) and whether it is a number."""

    text: str
    num: bool = False


def cells(words: ReportWords, values: Sequence[object]) -> list[Cell]:
    """Table cells: yes/no as a word, rates as percentages, dates in the language's form, a
    missing date as a dash; numbers right-aligned."""
    out = []
    for v in values:
        if isinstance(v, bool):
            out.append(Cell(words.yes(v)))
        elif isinstance(v, float):
            out.append(Cell(f"{v:.1%}"))
        elif isinstance(v, dt.date):
            out.append(Cell(words.date(v)))
        elif v is None:
            out.append(Cell("–"))
        else:
            out.append(Cell(str(v), isinstance(v, int)))
    return out


def _groups(report: OverdueReport, words: ReportWords) -> Iterator[tuple[str, Iterable[
        list[Cell]]]]:
    """The overdue spans, one group per agency under its heading, read lazily."""
    for agency, lines in itertools.groupby(report.lines(), key=lambda x: x.agency):
        heading = words.text("agency_heading", agency=words.agency(agency),
                             n=report.agencies[agency].overdue)
        yield heading, (cells(words, words.detail_row(x)[1:]) for x in lines)


def write_html(report: OverdueReport, path: Path, words: ReportWords) -> None:
    """One self-contained, printable page: chart, summary, detail (streamed to the file)."""
    page = _ENV.get_template("report.html").generate(
        words=words, lang=words.lang, title=words.text("title", as_of=report.as_of),
        issued=words.issued(today()),
        intro=words.text("intro", total=report.total, escalate=report.escalate_after_days,
                         start=report.period_start, end=report.as_of),
        chart=Markup(chart(report, words)),  # the chart escapes its own text
        summary_header=cells(words, words.summary_header()),
        summary_rows=(cells(words, words.summary_row(s)) for s in report.agencies.values()),
        detail_header=cells(words, words.detail_header()[1:]),
        groups=_groups(report, words))
    with path.open("w", encoding="utf-8") as f:
        f.writelines(page)


__all__ = ["write_html"]
