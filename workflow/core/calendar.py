"""The Chinese statutory working-day calendar.

Working days are Monday to Friday, minus public holidays, plus the weekend make-up working
days (调休) announced each year by the General Office of the State Council. The `holidays`
package supplies the published years; a YAML file in ``definitions/calendars/`` may add (or
correct) a year before a library release has it. A year that neither knows is estimated,
and every answer that depends on it is *provisional*.

Everything is precomputed into flat tables, so the arithmetic is two list look-ups.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..errors import InvalidInput, OutdatedLibrary
from .yamlfile import YamlFile

FIRST_YEAR, LAST_YEAR = 2000, 2099
_OFFICIAL_SINCE = 2001  # the library checks its China data against the notices from 2001
#: The first `holidays` release with China's 2026 schedule: an older one would count Spring
#: Festival 2025-2026 as working days.
HOLIDAYS_MINIMUM = (0, 85)
#: The seven statutory public holidays every year's notice sets (国务院《全国年节及纪念日放假办法》).
STATUTORY_HOLIDAYS = ("元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节")


def check_holidays_library(version: str | None = None) -> None:
    """Refuse to work with a `holidays` release older than the one the project knows."""
    if version is None:
        import holidays

        # holidays imports __version__ without re-exporting it (no ``as``/``__all__``).
        version = holidays.__version__  # type: ignore[attr-defined]
    parts = tuple(int(p) for p in re.findall(r"\d+", version)[:2])
    if parts < HOLIDAYS_MINIMUM:
        need = ".".join(map(str, HOLIDAYS_MINIMUM))
        raise OutdatedLibrary(
            f"the installed holidays {version} is older than {need}, the first release with "
            f"China's 2026 schedule: upgrade it (pip install 'holidays>={need}')")


class _HolidayRange(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    name: str = Field(min_length=1)
    start: dt.date = Field(alias="from")
    end: dt.date = Field(alias="to")
    #: Set when the range runs into the year before or after (e.g. 元旦 from 12-30).
    adjacent_year: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> _HolidayRange:
        if self.end < self.start:
            raise ValueError(f"'to' ({self.end}) is before 'from' ({self.start})")
        return self


class YearSchedule(BaseModel):
    """One year's schedule as the State Council published it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    year: int = Field(ge=FIRST_YEAR, le=LAST_YEAR)
    source: str = Field(min_length=1, description="the notice this was copied from")
    holidays: tuple[_HolidayRange, ...] = Field(min_length=1)
    make_up_workdays: tuple[dt.date, ...] = ()
    #: Weekend days of the year before or after that this notice made working days (the 2007
    #: notice made 2006-12-30 and 2006-12-31 working days).
    adjacent_year_make_up_workdays: tuple[dt.date, ...] = ()

    @property
    def missing(self) -> tuple[str, ...]:
        """The statutory holidays this schedule does not set (then the year stays provisional)."""
        return tuple(h for h in STATUTORY_HOLIDAYS
                     if not any(h in rng.name for rng in self.holidays))

    @property
    def workdays(self) -> tuple[dt.date, ...]:
        return (*self.make_up_workdays, *self.adjacent_year_make_up_workdays)


class RegionalSchedule(BaseModel):
    """Public holidays a province or autonomous region adds for its own agencies."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    year: int = Field(ge=FIRST_YEAR, le=LAST_YEAR)
    province: str = Field(pattern=r"^\d{2}$")
    source: str = Field(min_length=1, description="the regional notice this was copied from")
    holidays: tuple[_HolidayRange, ...] = Field(min_length=1)

    @field_validator("province", mode="before")
    @classmethod
    def _code_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @property
    def days(self) -> set[dt.date]:
        return {rng.start + dt.timedelta(days=i) for rng in self.holidays
                for i in range((rng.end - rng.start).days + 1)}


_REGIONAL_FILE = re.compile(r"^(\d{4})-(\d{2})$")


def is_regional_file(stem: str) -> bool:
    """Whether a calendar file named ``stem`` (``YEAR-PP``) is a regional overlay."""
    return _REGIONAL_FILE.match(stem) is not None


def parse_regional_schedule(doc: YamlFile) -> RegionalSchedule:
    """Check one ``calendars/YEAR-PP.yaml`` file (PP: the agency code's first two digits)."""
    schedule = doc.validate(RegionalSchedule)
    match = _REGIONAL_FILE.match(doc.path.stem)
    assert match is not None, "only called for a regional file"
    year, province = match.groups()
    if (str(schedule.year), schedule.province) != (year, province):
        raise doc.fail(f"the file of {year} for province {province} gives year {schedule.year} "
                       f"and province {schedule.province}", ("year",))
    for i, rng in enumerate(schedule.holidays):
        if rng.start.year != schedule.year or rng.end.year != schedule.year:
            raise doc.fail(f"holiday '{rng.name}' ({rng.start} to {rng.end}) runs outside "
                           f"{schedule.year}", ("holidays", i))
    return schedule


def parse_schedule(doc: YamlFile) -> YearSchedule:
    """Check one ``definitions/calendars/YEAR.yaml`` file: every date in that year
    (or, where marked, in the year next to it), make-up days on weekends."""
    schedule = doc.validate(YearSchedule)
    year, path = schedule.year, doc.path
    if path.stem.isdigit() and int(path.stem) != year:
        raise doc.fail(f"the file of {path.stem} gives year {year}", ("year",))
    for key, adjacent in (("make_up_workdays", False), ("adjacent_year_make_up_workdays", True)):
        for i, day in enumerate(getattr(schedule, key)):
            if day.weekday() < 5:
                raise doc.fail(f"make-up working day {day} is a weekday, not a weekend day",
                               (key, i))
            if adjacent != (day.year != year) or abs(day.year - year) > 1:
                where = f"the year next to {year}" if adjacent else str(year)
                raise doc.fail(f"{day} is not in {where}", (key, i))
    for i, rng in enumerate(schedule.holidays):
        years = {rng.start.year, rng.end.year}
        if year not in years or max(abs(y - year) for y in years) > 1 or (
                years != {year} and not rng.adjacent_year):
            hint = "" if year not in years else " (mark it `adjacent_year: true` if it should)"
            raise doc.fail(f"holiday '{rng.name}' ({rng.start} to {rng.end}) runs outside "
                           f"{year}{hint}", ("holidays", i))
    return schedule


@dataclass(frozen=True)
class LibraryDays:
    """What the installed `holidays` release says of China from 2000 to 2099: its public
    holidays, its make-up working days, and the last year it has from the State Council's
    notices. Computed by :func:`library_days`; kept as text by :meth:`to_json` so that a
    process can take it from a cache instead of importing the package, which imports every
    country it knows (about 11 MB of memory, 1 s of start)."""

    version: str
    holidays: frozenset[dt.date]
    workdays: frozenset[dt.date]
    last_official_year: int

    def to_json(self) -> str:
        return json.dumps({"holidays_version": self.version, "first_year": FIRST_YEAR,
                           "last_year": LAST_YEAR, "last_official_year": self.last_official_year,
                           "holidays": sorted(d.isoformat() for d in self.holidays),
                           "workdays": sorted(d.isoformat() for d in self.workdays)})

    @classmethod
    def from_json(cls, text: str, version: str) -> LibraryDays:
        """The days kept by :meth:`to_json`; ValueError unless they are of ``version`` and of
        this calendar's years."""
        try:
            data = json.loads(text)
            if (data["holidays_version"], data["first_year"], data["last_year"]) != (
                    version, FIRST_YEAR, LAST_YEAR):
                raise ValueError("kept for another holidays release or other years")
            return cls(version, frozenset(map(dt.date.fromisoformat, data["holidays"])),
                       frozenset(map(dt.date.fromisoformat, data["workdays"])),
                       int(data["last_official_year"]))
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not kept library days: {exc!r}") from None


@cache
def library_days() -> LibraryDays:
    """The `holidays` package's China, 2000 to 2099 (built once a process)."""
    import holidays
    from holidays.countries.china import ChinaStaticHolidays

    # holidays loads its country classes lazily (EntityLoader): mypy does not see them.
    lib = holidays.China(years=range(FIRST_YEAR, LAST_YEAR + 1))  # type: ignore[attr-defined]
    return LibraryDays(holidays.__version__,  # type: ignore[attr-defined]
                       frozenset(lib), frozenset(lib.weekend_workdays),
                       max(ChinaStaticHolidays.special_public_holidays))


def library_official_years(library: LibraryDays | None = None) -> frozenset[int]:
    """The years whose schedule the installed `holidays` release has from the notices."""
    last = (library or library_days()).last_official_year
    return frozenset(range(_OFFICIAL_SINCE, last + 1))


def add_months(day: dt.date, months: int) -> dt.date:
    """Calendar-month arithmetic: 2025-11-30 plus 3 months is 2026-02-28."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last))


@dataclass(frozen=True, slots=True)
class Due:
    """A due date, whether it rests on a year whose schedule is not published yet, and how a
    rule moved it (``note``), if one did."""

    on: dt.date
    provisional: bool
    note: str | None = None


#: Receipt on a non-working day: day 1 is the first working day after it (Civil Code art. 201),
#: or the receipt counts as made on the next working day (day 1 is the working day after that).
COUNT_FROM_NEXT_WORKING_DAY = "count_from_next_working_day"
RECEIVED_NEXT_WORKING_DAY = "received_next_working_day"


@lru_cache(maxsize=32)
def _day_tables(off: frozenset[dt.date], on: frozenset[dt.date]
                ) -> tuple[bytes, array[int], array[int]]:
    """The day tables of :class:`WorkingDays` for its days off and make-up working days, built
    once per process for each such pair (every engine of a process has the same calendar), in
    compact arrays rather than tuples of Python ints and dates (about 2 MB less each); never
    changed once built."""
    is_work, rank, days = bytearray(), array("i"), array("i")
    day, last = dt.date(FIRST_YEAR, 1, 1), dt.date(LAST_YEAR, 12, 31)
    while day <= last:
        working = day in on or (day.weekday() < 5 and day not in off)
        is_work.append(working)
        if working:
            days.append(day.toordinal())
        rank.append(len(days))
        day += dt.timedelta(days=1)
    return bytes(is_work), rank, days


class WorkingDays:
    """The working days of the years 2000 to 2099 under the schedules given: answers
    working-day questions and computes due dates.

    Built from schedule data (:func:`parse_schedule`, :func:`parse_regional_schedule`): national
    schedules by year and regional overlays; :meth:`for_agency` gives the working days of an
    agency's province. No file is read here: :class:`workflow.WorkingCalendar`, the calendar
    users hold, reads the schedules from a folder and is one of these.
    """

    def __init__(self, schedules: Iterable[YearSchedule] = (),
                 regional: Iterable[RegionalSchedule] = (), *,
                 province: str | None = None, library: LibraryDays | None = None) -> None:
        library = library or library_days()
        check_holidays_library(library.version)
        first, last = dt.date(FIRST_YEAR, 1, 1), dt.date(LAST_YEAR, 12, 31)
        off, on = set(library.holidays), set(library.workdays)
        self.library = library
        self.province = province
        self.schedules: dict[int, YearSchedule] = {}
        #: Regional overlays by province prefix, then year.
        self.regional: dict[str, dict[int, RegionalSchedule]] = {}
        for overlay in regional:
            self.regional.setdefault(overlay.province, {})[overlay.year] = overlay
        for schedule in schedules:
            if schedule.year in self.schedules:
                raise InvalidInput(f"a second schedule for {schedule.year}")
            self.schedules[schedule.year] = schedule
        for year, schedule in self.schedules.items():
            off = {d for d in off if d.year != year}
            on = {d for d in on if d.year != year}
            for rng in schedule.holidays:
                off.update(rng.start + dt.timedelta(days=i)
                           for i in range((rng.end - rng.start).days + 1))
            on.update(schedule.workdays)
        for overlay in self.regional.get(province, {}).values() if province else ():
            off.update(overlay.days)
            on.difference_update(overlay.days)
        self._by_province: dict[str, WorkingDays] = {}
        #: Years whose file lacks a statutory holiday, and what it lacks: still provisional.
        self.incomplete = {y: s.missing for y, s in self.schedules.items() if s.missing}
        self.official_years = (library_official_years(library) | frozenset(self.schedules)) \
            - frozenset(self.incomplete)

        self._base = first.toordinal()
        #: Whether base + i is a working day; the working days on or before it; the working
        #: days in order (ordinals).
        self._is_work, self._rank, self._days = _day_tables(frozenset(off), frozenset(on))
        self._first, self._last = first, last
        self._prints: dict[int, str] = {}

    def for_agency(self, agency: str) -> WorkingDays:
        """The calendar of an agency: this one plus its province's overlay, if there is one."""
        province = agency[:2]
        if province not in self.regional or province == self.province:
            return self
        cal = self._by_province.get(province)
        if cal is None:
            overlays = [o for by_year in self.regional.values() for o in by_year.values()]
            cal = self._by_province[province] = WorkingDays(
                self.schedules.values(), overlays, province=province, library=self.library)
        return cal

    def _offset(self, day: dt.date) -> int:
        i = day.toordinal() - self._base
        if not 0 <= i < len(self._rank):
            raise InvalidInput(f"{day} is outside the calendar ({self._first} to {self._last})")
        return i

    def is_working_day(self, day: dt.date) -> bool:
        return bool(self._is_work[self._offset(day)])

    def add_working_days(self, day: dt.date, n: int) -> dt.date:
        """The n-th working day after ``day``: day 1 is the first working day after it."""
        if n < 1:
            return day if n == 0 else self.subtract_working_days(day, -n)
        k = self._rank[self._offset(day)] + n - 1
        if k >= len(self._days):
            raise InvalidInput(f"{n} working days after {day} is past {self._last}")
        return dt.date.fromordinal(self._days[k])

    def subtract_working_days(self, day: dt.date, n: int) -> dt.date:
        """The n-th working day before ``day`` (n >= 1)."""
        i = self._offset(day)
        k = self._rank[i] - self._is_work[i] - n
        if k < 0:
            raise InvalidInput(f"{n} working days before {day} is before {self._first}")
        return dt.date.fromordinal(self._days[k])

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days after ``start`` up to and including ``end`` (negative if end < start)."""
        return self._rank[self._offset(end)] - self._rank[self._offset(start)]

    def is_official(self, year: int) -> bool:
        return year in self.official_years

    def is_provisional(self, start: dt.date, end: dt.date) -> bool:
        """Whether any day from ``start`` to ``end`` lies in a year that is only estimated."""
        lo, hi = min(start, end), max(start, end)
        return any(not self.is_official(y) for y in range(lo.year, hi.year + 1))

    def due_in_months(self, start: dt.date, months: int) -> Due:
        """The same day ``months`` calendar months later (the month's last day if it has none);
        a last day that is not a working day moves to the next working day (Civil Code art. 203)."""
        end = add_months(start, months)
        if self.is_working_day(end):
            return Due(end, self.is_provisional(start, end))
        on = self.add_working_days(end, 1)
        return Due(on, self.is_provisional(start, on),
                   f"{end} is not a working day: moved to the next working day {on} "
                   "(Civil Code art. 203)")

    def due(self, received: dt.date, limit: int,
            policy: str = COUNT_FROM_NEXT_WORKING_DAY) -> Due:
        """The due date of a limit of ``limit`` working days counted from ``received``.

        ``policy`` (a definition's ``receipt_on_non_working_day``): with
        ``received_next_working_day`` a receipt on a non-working day counts as made on the next
        working day, so the limit runs one working day longer than by default.
        """
        start, note = received, None
        if policy == RECEIVED_NEXT_WORKING_DAY and not self.is_working_day(received):
            start = self.add_working_days(received, 1)
            note = (f"received on {received}, a non-working day: counted as received on "
                    f"{start} (received_next_working_day)")
        elif policy not in (COUNT_FROM_NEXT_WORKING_DAY, RECEIVED_NEXT_WORKING_DAY):
            raise InvalidInput(f"unknown receipt policy {policy!r}")
        on = self.add_working_days(start, limit)
        return Due(on, self.is_provisional(received, on), note)

    def fingerprint(self, first: dt.date, last: dt.date) -> str:
        """The schedules of the years from ``first`` to ``last`` as this calendar knows them
        (which days are worked, whether each year is official): ``"2025:3f9a…,2026:…"``. A due
        date computed under one fingerprint needs recomputing when it changes."""
        return ",".join(f"{y}:{self._year_print(y)}" for y in range(first.year, last.year + 1))

    def _year_print(self, year: int) -> str:
        cached = self._prints.get(year)
        if cached is None:
            i = self._offset(dt.date(year, 1, 1))
            j = self._offset(dt.date(year, 12, 31)) + 1
            data = bytes(self._is_work[i:j]) + (b"official" if self.is_official(year) else b"")
            cached = self._prints[year] = hashlib.sha256(data).hexdigest()[:12]
        return cached


__all__ = [
    "COUNT_FROM_NEXT_WORKING_DAY",
    "RECEIVED_NEXT_WORKING_DAY",
    "STATUTORY_HOLIDAYS",
    "Due",
    "LibraryDays",
    "RegionalSchedule",
    "WorkingDays",
    "YearSchedule",
    "add_months",
    "check_holidays_library",
    "is_regional_file",
    "library_days",
    "library_official_years",
    "parse_regional_schedule",
    "parse_schedule",
]
