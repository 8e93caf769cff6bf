"""The report's chart: a stacked horizontal bar chart of overdue spans per agency by aging
bucket, as inline SVG (in the HTML report and on the dashboard's overdue board); every text
in it is escaped."""

from __future__ import annotations

import html

from ..core.figures import BUCKETS, OverdueReport
from .labels import ReportWords, check_language, display_width

_COLOURS = dict(zip(BUCKETS, ("#f2c94c", "#f2994a", "#eb5757", "#9b1c1c"), strict=True))


def chart(report: OverdueReport, words: ReportWords) -> str:
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
    return chart(report, ReportWords(report, check_language(lang or report.language)))


__all__ = ["chart", "chart_svg"]
