"""Overdue reports: building them, every overdue and escalated span by owner agency, from
the report store (writing them as CSV, XLSX or HTML is :mod:`workflow.render`'s)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..core.calendar import WorkingDays
from ..core.definitions import Definition
from ..core.divisions import name_of
from ..core.figures import OverdueLine, OverdueReport, summarise
from ..core.inputs import mask_person_id
from ..errors import InvalidInput, WorkflowError
from ..ports import ReportStore
from ..records import Gauges
from ..settings import Settings

#: Progress is told every this many overdue spans.
_STREAM = 2000


class ReportService:
    """Builds overdue reports from the report store, the calendar and the settings."""

    def __init__(self, store: ReportStore, calendar: WorkingDays, settings: Settings,
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
              province: str | None = None,
              insurances: Sequence[str] | None = None) -> OverdueReport:
        """Every span running on ``as_of`` and past its due date; on-time rates of spans closed
        from ``since`` (default: the 7 days up to ``as_of``). A past ``as_of`` shows what was
        late on that day, including spans that have ended since. ``agencies``/``province``:
        only the spans owned by those agencies / the agencies of that province (2 digits)."""
        scope: dict[str, Any] = {"agencies": agencies, "province": province,
                                 "insurances": insurances}
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
                             self.span_title, self.agency_name,
                             self.settings.report_issuer or self._issuer(agencies, province))

    def gauges(self) -> Gauges:
        """The database's counts the service's metrics show."""
        return self.store.gauges()

    def _issuer(self, agencies: Sequence[str] | None, province: str | None) -> str:
        """The unit a scoped report is issued by: its one agency, or its province."""
        code = agencies[0] if agencies and len(agencies) == 1 else (
            f"{province}0000" if province else None)
        if code is None:
            return ""
        name = self.agency_name(code)
        return f"{code} {name}" if name else code

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


__all__ = ["ReportService"]
