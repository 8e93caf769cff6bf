"""What a report in one language says: its labels from the message catalogues
(:mod:`workflow.i18n`), span titles from the definitions, agencies as code and name,
dates in the language's form (``babel.dates``)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import unicodedata

from ..core.figures import BUCKETS, AgencySummary, OverdueLine, OverdueReport
from ..core.words import LANGUAGES
from ..errors import InvalidInput
from ..i18n import format_date, words

#: The detail columns and the summary columns (the aging buckets left out): keys of the table.
_DETAIL = ("report_owner_agency", "report_case", "report_insurance", "report_person",
           "report_person_id", "report_span", "report_owner", "report_started",
           "report_committed_due", "report_statutory_due", "report_days_late", "report_level",
           "report_past_statutory_due", "report_provisional")
_SUMMARY = ("report_owner_agency", "report_overdue", "report_escalated",
            "report_past_statutory_due", "report_closed", "report_closed_on_time",
            "report_closed_within_statute", "report_on_time_rate")
_BUCKETS = dict(zip(BUCKETS, ("report_bucket_1_5", "report_bucket_6_10", "report_bucket_11_15",
                              "report_bucket_over_15"), strict=True))

#: The sentences that count (``report_<key>`` is a plural message), by the value counted.
_COUNTED = {"intro": "total", "agency_heading": "n"}


@dataclasses.dataclass(frozen=True)
class ReportLabels:
    """The labels of a report in one language (columns, sheets, levels, buckets), taken from
    the message catalogues; its sentences are :meth:`ReportWords.text`."""

    detail: tuple[str, ...]  # the detail columns
    summary: tuple[str, ...]  # the summary columns, the aging buckets left out
    bucket: dict[str, str]
    level: dict[str, str]
    owner: dict[str, str]
    insurance: dict[str, str]
    yes: str
    no: str
    sheets: tuple[str, str]  # the XLSX sheets: summary, detail

    @classmethod
    def of(cls, lang: str) -> ReportLabels:
        """The report's labels in ``lang``, from the catalogue of ``lang``."""
        w = words(lang)
        return cls(
            detail=tuple(w[k] for k in _DETAIL), summary=tuple(w[k] for k in _SUMMARY),
            bucket={b: w[k] for b, k in _BUCKETS.items()},
            level={v: w[f"report_level_{v}"] for v in ("overdue", "escalated")},
            owner={v: w[f"owner_{v}"] for v in ("origin", "destination", "person")},
            insurance={v: w[f"insurance_{v}"] for v in ("pension", "medical")},
            yes=w["report_yes"], no=w["report_no"],
            sheets=(w["report_sheet_summary"], w["report_sheet_detail"]))


#: A report's labels in each language.
LABELS: dict[str, ReportLabels] = {lang: ReportLabels.of(lang) for lang in LANGUAGES}


def check_language(lang: str) -> str:
    """Refuse a report language other than ``zh`` and ``en``."""
    if lang not in LABELS:
        raise InvalidInput(f"report language must be one of {', '.join(LABELS)}, not {lang!r}")
    return lang


def display_width(text: str) -> int:
    """Columns ``text`` takes in a spreadsheet: a CJK (wide) character takes two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


class ReportWords:
    """What a report in one language says: labels from :data:`LABELS`, span titles from the
    definitions, agencies as code and name, dates as 2026年11月24日 (zh) or ISO (en)."""

    def __init__(self, report: OverdueReport, lang: str) -> None:
        self.report, self.lang, self.labels = report, lang, LABELS[lang]

    def text(self, key: str, **values: object) -> str:
        """A sentence of the report (message ``report_<key>``), its values filled in (dates
        in this language's form); a sentence counting spans in the plural its count needs."""
        filled = {k: self.date(v) if isinstance(v, dt.date) else v for k, v in values.items()}
        w = words(self.lang)
        if key in _COUNTED:
            count = filled.pop(_COUNTED[key])
            assert isinstance(count, int)
            return w.plural(f"report_{key}", count, **filled)
        return w.text(f"report_{key}", **filled)

    def agency(self, code: str) -> str:
        """``440300 深圳市``: the division code and its GB/T 2260 name (the code alone if unknown)."""
        name = self.report.agency_name(code)
        return f"{code} {name}" if name else code

    def date(self, day: dt.date) -> str:
        return format_date(day, self.lang)

    def yes(self, flag: bool) -> str:
        """A yes/no column: 是 or 否 (yes or no), never an empty cell."""
        return self.labels.yes if flag else self.labels.no

    def issued(self, on: dt.date) -> str:
        """Who issued the report and on which day (制表单位, 制表日期); the unit's line is left
        blank for a stamp when the report has no issuer."""
        return self.text("issued", issuer=self.report.issuer or "　" * 8, on=on)

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


__all__ = ["LABELS", "ReportLabels", "ReportWords", "check_language", "display_width"]
