"""11. National scale on PostgreSQL (issue 22): millions of cases, the product's own queries.

Makes its own database (the one named in $SSTRANSFER_BENCH_POSTGRES_URL, dropped and made
anew), builds the schema with the engine's migrations (an Engine on an empty database), then
loads ``--cases`` cases with their history, spans and alerts by COPY (psycopg 3), across every
province: agencies are prefecture-level GB/T 2260 codes of all 31 mainland provinces, ID
numbers are valid (python-stdnum's check digit, birth place and date). The rows are copies of
the cases the demo runs through the real engine (every path: continued, rejected, withdrawn,
awaiting documents, ...), re-dated and re-addressed; 5 % of the cases are running, the rest
final. Loading stops at ``--minutes``; the figures are then for the size reached, and the
extrapolation to the target is stated.

At ``--checkpoint`` cases (when the run goes past it) and at the final size, after ANALYZE,
it measures through the engine's services (no SQL of its own in a measured call):

- the daily scan (``engine.scan``) raising ``--alerts`` new alerts (10,000), the day after a
  completed scan, among running spans of which some are already alerted: < 1 s, judged on the
  scan's whole wall time (which holds its query time), median of ``--reps`` scans (each
  scan's alerts, events and run record are deleted after it, so every scan finds the same);
- a clerk's inbox page, 50 running spans of their agency by due date with its total
  (``AlertService.inbox``): p99 < 100 ms;
- a person's cases by ID number (``CaseService.cases(CaseQuery(person_id=...))``): p99 < 20 ms;
- a filtered case list with its total (province, state and insurance: ``CaseService.cases``
  for the page of 50 rows and ``CaseService.count`` for the total, as the desk's search shows
  them): p99 < 200 ms;
- a province's overdue report (``engine.overdue_report(province=...)``, figures and every
  line read): < 10 s, for the province with the most running spans;
- the database size per million cases.

Usage: ``SSTRANSFER_BENCH_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:54329/x
python bench_national.py [--cases 300000] [--minutes 20] [--checkpoint 1000000]``.
The real target: ``--cases 5000000`` (about 25 minutes of COPY at 3,300 cases/s on 2 shared
cores, more when the machine is busy; BENCHMARKS.md has what 20 minutes reached and the
extrapolation).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from common import goal_row, header, load_average, median_range
from stdnum.cn import ric

from workflow import Engine
from workflow.core.alerts import ADVISORY, span_levels
from workflow.core.divisions import gb2260
from workflow.core.inputs import PUBLIC_NUMBER_DIGITS, public_number_from
from workflow.core.queries import CaseQuery, InboxQuery
from workflow.demo import build_demo
from workflow.engine import upgrade_schema

AS_OF = dt.date(2026, 11, 20)  # a Friday, a working day
RUNNING_SHARE = 0.05
#: Of the running spans that are not among the scan's new alerts, the share already overdue
#: and alerted on earlier days (judged again by every scan, raising nothing new).
ALERTED_SHARE = 0.02
#: Cases finished per day, the country over (about 2.7 million pension transfers a year, medical
#: on top): a larger database is a longer history, the daily flow stays the same.
FINISHED_PER_DAY = 7_500
#: Of the final cases, the share that had an overdue alert in their life.
FINAL_ALERTED_SHARE = 0.10
#: Of the medical cases, the share whose person also has a pension case (the advisory).
SAME_PERSON_SHARE = 0.3
BATCH = 10_000
LOADED = ("transfer_case", "case_history", "span", "alert")
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂英建华晓东海燕红玲辉鹏飞斌"


def escaped(value: str) -> str:
    """A text value as COPY's text format needs it (backslash, tab and newlines escaped)."""
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n") \
        .replace("\r", "\\r")


# --- the rows, as the real engine writes them ---------------------------------------------------
@dataclass
class Template:
    """One demo case: its rows as COPY text fields, with the dates as day numbers."""

    case: dict[str, Any]
    history: list[dict[str, Any]]
    spans: list[dict[str, Any]]
    running: bool
    last: int  # the day number of the case's last event
    running_span: int | None = None  # index in spans of the span still running


def templates(folder: Path) -> tuple[list[str], list[str], list[str], list[Template]]:
    """The demo's cases (run through the real engine on SQLite) as row templates."""
    path = folder / "demo.db"
    with Engine(f"sqlite:///{path}") as engine:
        build_demo(engine, cases=300)
        finals = {d.name: set(d.final_states) for d in
                  (engine.definition(n) for n in ("pension_transfer", "medical_transfer"))}
    con = sqlite3.connect(path)
    con.row_factory = sqlite3.Row

    def rows(sql: str, *args: Any) -> list[dict[str, Any]]:
        return [dict(r) for r in con.execute(sql, args)]

    found: list[Template] = []
    for case in rows("SELECT * FROM transfer_case ORDER BY id"):
        if case["definition_name"] not in finals:  # a card application: not a transfer
            continue
        history = rows("SELECT * FROM case_history WHERE case_id = ? ORDER BY seq", case["id"])
        spans = rows("SELECT * FROM span WHERE case_id = ? ORDER BY id", case["id"])
        running = case["state"] not in finals[case["definition_name"]]
        last = dt.date.fromisoformat(case["last_event_on"]).toordinal()
        open_span = [i for i, s in enumerate(spans) if s["ended_on"] is None]
        found.append(Template(case, history, spans, running, last,
                              open_span[-1] if open_span else None))
    columns = [[c[1] for c in con.execute(f"PRAGMA table_info({t})") if c[1] != "id"]
               for t in ("transfer_case", "case_history", "span")]
    con.close()
    return columns[0], columns[1], columns[2], found


def day(ordinal: int, cache: dict[int, str] = {}) -> str:  # noqa: B006 (a cache on purpose)
    text = cache.get(ordinal)
    if text is None:
        text = cache[ordinal] = dt.date.fromordinal(ordinal).isoformat()
    return text


def field_text(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    return escaped(str(value))


@dataclass
class Generator:
    """Cases with their rows, generated in id order, reproducibly (one seed)."""

    templates: list[Template]
    case_columns: list[str]
    history_columns: list[str]
    span_columns: list[str]
    calendar: Any
    settings: Any
    new_alerts: int
    new_alerts_within: int
    rng: random.Random = field(default_factory=lambda: random.Random(22))
    next_case: int = 1
    next_history: int = 1
    next_span: int = 1
    next_alert: int = 1
    new_raised: int = 0
    finals: int = 0
    agencies: list[str] = field(default_factory=list)
    places: list[str] = field(default_factory=list)
    person_sample: list[str] = field(default_factory=list)
    running_owners: Counter[str] = field(default_factory=Counter)
    last_pension: tuple[int, str] | None = None  # id, person
    running_people: set[tuple[str, str]] = field(default_factory=set)

    def __post_init__(self) -> None:
        codes = gb2260()
        # Agencies: the prefecture-level divisions (and the municipalities' own codes) of the
        # 31 mainland provinces, in use now.
        mainland = [c for c in codes if c[:2] not in ("71", "81", "82")]
        self.agencies = sorted(c for c in mainland if (c[4:] == "00" and c[2:] != "0000")
                               or (c[:2] in ("11", "12", "31", "50") and c[2:] == "0000"))
        # Birth places: county codes python-stdnum accepts for births from 1960 to 1999.
        self.places = sorted(c for c in mainland if c[4:] != "00" and all(
            ric.is_valid(f"{c}{y}0101000" + ric.calc_check_digit(f"{c}{y}01010000"))
            for y in (1960, 1999)))
        self.provinces = sorted({c[:2] for c in self.agencies})
        assert len(self.provinces) == 31, self.provinces
        self.final = [t for t in self.templates if not t.running]
        self.running = [t for t in self.templates if t.running]
        self.by_insurance = {ins: ([t for t in self.final if t.case["insurance"] == ins],
                                   [t for t in self.running if t.case["insurance"] == ins])
                             for ins in ("pension", "medical")}
        running_spans = sum(t.running_span is not None for t in self.running) / len(self.running)
        expected = self.new_alerts_within * RUNNING_SHARE * running_spans
        self.new_share = min(1.0, 1.15 * self.new_alerts / expected) if expected else 0.0
        self.key_space = 10 ** (PUBLIC_NUMBER_DIGITS - 1)
        self.stamp = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC).isoformat(" ")
        self.due_soon = self.calendar.add_working_days(AS_OF, 1).toordinal()

    def person(self) -> str:
        rng = self.rng
        birth = dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 40))
        body = f"{rng.choice(self.places)}{birth:%Y%m%d}{rng.randrange(1000):03d}"
        return body + ric.calc_check_digit(body + "0")

    def batch(self, count: int) -> tuple[list[str], list[str], list[str], list[str]]:
        """``count`` cases: the COPY text lines of the cases, history, spans and alerts."""
        lines: tuple[list[str], list[str], list[str], list[str]] = ([], [], [], [])
        for _ in range(count):
            self.one_case(*lines)
        return lines

    def one_case(self, cases: list[str], history: list[str], spans: list[str],
                 alerts: list[str]) -> None:
        rng, today = self.rng, AS_OF.toordinal()
        case_id = self.next_case
        self.next_case += 1
        insurance = "pension" if rng.random() < 0.6 else "medical"
        running = rng.random() < RUNNING_SHARE
        t = rng.choice(self.by_insurance[insurance][running])
        origin = rng.choice(self.agencies)
        destination = rng.choice(self.agencies)
        while destination[:2] == origin[:2]:
            destination = rng.choice(self.agencies)
        old = {t.case["origin"]: origin, t.case["destination"]: destination}
        person = self.person_of(insurance, running)
        if len(self.person_sample) < 2000 or rng.random() < 0.001:
            self.person_sample.append(person)
        # Dates: the template's, moved so that the case ends (final) or its running span
        # starts (running) where this case needs it.
        shift, category, due, levels = self.dates(case_id, t, running, old)
        c = t.case
        values = dict(c)
        values.update(
            public_number=public_number_from(case_id * 7_919_000_003 % self.key_space),
            person_id=person, person_name=rng.choice(_SURNAMES) + rng.choice(_GIVEN)
            + (rng.choice(_GIVEN) if rng.random() < 0.5 else ""),
            origin=origin, destination=destination,
            opened_on=day(dt.date.fromisoformat(c["opened_on"]).toordinal() + shift),
            last_event_on=day(t.last + shift), created_at=self.stamp,
            updated_at=self.stamp)
        if c["applicant_id"]:
            values["applicant_id"] = f"{c['applicant']}-{case_id}"
        cases.append("\t".join([str(case_id), *(field_text(values[k])
                                                for k in self.case_columns)]))
        for h in t.history:
            row = dict(h, case_id=case_id, recorded_at=self.stamp,
                       business_date=day(dt.date.fromisoformat(h["business_date"])
                                         .toordinal() + shift))
            if h["actor_agency"]:
                row["actor_agency"] = old.get(h["actor_agency"], h["actor_agency"])
            history.append("\t".join([str(self.next_history), *(
                field_text(row[k]) for k in self.history_columns)]))
            self.next_history += 1
        first_span = self.next_span
        self.span_lines(case_id, t, running, old, shift, category, due, levels, spans, alerts)
        if not running and t.spans and rng.random() < FINAL_ALERTED_SHARE:
            s = t.spans[0]
            alerts.append(self.alert_line(
                "overdue", case_id, first_span, s["name"], s["owner"],
                old.get(s["owner_agency"], s["owner_agency"]),
                day(dt.date.fromisoformat(s["due_on"]).toordinal() + shift), 2,
                f"span:{first_span}:overdue",
                day(dt.date.fromisoformat(s["ended_on"] or s["due_on"]).toordinal() + shift)))
        if insurance == "pension":
            # The advisory an earlier scan raised for a pension continued lately: the person's
            # medical insurance has not followed to the same destination (no medical case at
            # all, one still open, or one continued elsewhere: every generated one).
            if c["state"] == "continued" and t.last + shift > today - 32:
                alerts.append(self.alert_line("advisory", case_id, None, ADVISORY, "person",
                                              destination, None, None,
                                              f"advisory:{case_id}:{ADVISORY}"))
            self.last_pension = (case_id, person)

    def span_lines(self, case_id: int, t: Template, running: bool, old: dict[str, str],
                   shift: int, category: str, due: int, levels: list[tuple[str, int]],
                   spans: list[str], alerts: list[str]) -> None:
        rng, today = self.rng, AS_OF.toordinal()
        for i, s in enumerate(t.spans):
            row = dict(s, case_id=case_id,
                       owner_agency=old.get(s["owner_agency"], s["owner_agency"]))
            for name in ("started_on", "due_on", "ended_on", "committed_due_on"):
                if s[name] is not None:
                    row[name] = day(dt.date.fromisoformat(s[name]).toordinal() + shift)
            if running and s["ended_on"] is None:
                # Another span still running beside it (the person's own) is due later.
                row["due_on"] = day(due if i == t.running_span
                                    else today + rng.randrange(15, 26))
                row["committed_due_on"] = row["committed_limit_working_days"] = None
            if running and i == t.running_span and category == "alerted":
                alerts.extend(self.alert_line(
                    level, case_id, self.next_span, s["name"], s["owner"],
                    row["owner_agency"], day(due), late, f"span:{self.next_span}:{level}")
                    for level, late in levels)
            spans.append("\t".join([str(self.next_span), *(
                field_text(row[k]) for k in self.span_columns)]))
            self.next_span += 1

    def person_of(self, insurance: str, running: bool) -> str:
        """A new person, or for some medical cases the person of the pension case just made;
        never one with a running case of ``insurance`` already, for a running case (one
        running transfer per person and insurance, migration 0012)."""
        if insurance == "medical" and self.last_pension and \
                self.rng.random() < SAME_PERSON_SHARE:
            _, person = self.last_pension
            self.last_pension = None
        else:
            person = self.person()
        if running:
            while (person, insurance) in self.running_people:
                person = self.person()
            self.running_people.add((person, insurance))
        return person

    def dates(self, case_id: int, t: Template, running: bool, old: dict[str, str],
              ) -> tuple[int, str, int, list[tuple[str, int]]]:
        """How far the template's dates move; for a running span, its category (``new``:
        raises an alert today; ``alerted``: overdue, alerted before; ``later``), its due day
        and its alert levels today."""
        rng, today = self.rng, AS_OF.toordinal()
        if running and t.running_span is not None:
            span = t.spans[t.running_span]
            started = dt.date.fromisoformat(span["started_on"]).toordinal()
            owner_agency = old.get(span["owner_agency"], span["owner_agency"])
            if case_id <= self.new_alerts_within and self.new_raised < self.new_alerts \
                    and rng.random() < self.new_share:
                category, due = "new", self.due_soon
            elif rng.random() < ALERTED_SHARE:
                category, due = "alerted", today - rng.randrange(1, 25)
            else:
                category, due = "later", today + rng.randrange(15, 26)
            levels = span_levels(dt.date.fromordinal(due), None, AS_OF,
                                 self.calendar.for_agency(owner_agency), self.settings)
            if category == "new" and len(levels) != 1:
                category, due = "later", today + rng.randrange(15, 26)
                levels = []
            self.new_raised += category == "new"
            self.running_owners[owner_agency] += 1
            # Started three weeks before it is due, and never after today.
            return min(due - 21, today - rng.randrange(0, 7)) - started, category, due, levels
        if running:
            return today - rng.randrange(0, 20) - t.last, "", 0, []
        self.finals += 1
        back = self.finals // FINISHED_PER_DAY + rng.randrange(1, 15)
        return today - back - t.last, "", 0, []

    def alert_line(self, level: str, case_id: int, span_id: int | None, subject: str,
                   owner: str, agency: str, due_on: str | None, late: int | None,
                   key: str, resolved_on: str | None = None) -> str:
        """An alert raised by the day before's scan; ``resolved_on``: resolved when its span
        ended, as the engine's step that ends a span resolves its open alerts."""
        alert_id = self.next_alert
        self.next_alert += 1
        return "\t".join(field_text(v) for v in (
            alert_id, level, case_id, span_id, subject, owner, agency, due_on, late, False,
            day(AS_OF.toordinal() - 1), self.stamp, key, None, resolved_on,
            None if resolved_on is None else "span_ended"))


ALERT_COLUMNS = ("id", "level", "case_id", "span_id", "subject", "owner", "owner_agency",
                 "due_on", "working_days_late", "provisional", "as_of", "raised_at", "key",
                 "run_id", "resolved_on", "resolution")


# --- the database ------------------------------------------------------------------------------
def bench_url() -> sa.URL:
    found = os.environ.get("SSTRANSFER_BENCH_POSTGRES_URL")
    if not found:
        sys.exit("set SSTRANSFER_BENCH_POSTGRES_URL (bash .ci/postgres.sh starts a server); "
                 "the database it names is dropped and made anew")
    return sa.make_url(found)


def libpq(url: sa.URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def fresh_database(url: sa.URL) -> None:
    name = url.database
    assert name and name not in ("postgres", "template0", "template1"), name
    with psycopg.connect(libpq(url.set(database="postgres")), autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        con.execute(f'CREATE DATABASE "{name}"')


def secondary_indexes(con: psycopg.Connection) -> list[tuple[str, str]]:
    """The indexes of the loaded tables that back no constraint: (name, definition)."""
    return con.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' "
        "AND i.tablename = ANY(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
        "WHERE c.conname = i.indexname)", [list(LOADED)]).fetchall()


def copy_lines(cur: psycopg.Cursor[Any], table: str, columns: list[str] | tuple[str, ...],
               lines: list[str]) -> None:
    if not lines:
        return
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        copy.write(("\n".join(lines) + "\n").encode())


# --- measuring -----------------------------------------------------------------------------------
def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def verdict(name: str, value_ms: float, goal_ms: float, detail: str) -> None:
    met = "met" if value_ms <= goal_ms else f"MISSED by {(value_ms - goal_ms) / goal_ms:.0%}"
    print(f"{name:<44} {detail}  goal < {goal_ms:,.0f} ms: {met}")


def latencies(call: Callable[[Any], object], args: list[Any]) -> list[float]:
    call(args[0])  # warm: the first call pays for connecting and compiling
    times = []
    for arg in args:
        start = time.perf_counter()
        call(arg)
        times.append((time.perf_counter() - start) * 1000)
    return times


def spread(times: list[float]) -> str:
    return (f"p50 {statistics.median(times):7.1f} ms  p99 {percentile(times, 99):7.1f} ms  "
            f"max {max(times):7.1f} ms  (n={len(times)})")


@dataclass
class QueryClock:
    """Time spent in the database driver's calls (psycopg's ``execute``, ``executemany`` and
    ``copy``, whoever makes them: SQLAlchemy or the store's own cursor), by the statement's
    first word (SELECT, INSERT, UPDATE, COPY, ...)."""

    seconds: dict[str, float] = field(default_factory=Counter)  # type: ignore[assignment]

    def attach(self, db: sa.Engine) -> None:
        clock = self.seconds
        cursor = psycopg.Cursor

        def timed(method: Any) -> Any:
            def call(self: Any, query: Any, *args: Any, **kw: Any) -> Any:
                start = time.perf_counter()
                try:
                    return method(self, query, *args, **kw)
                finally:
                    clock[str(query).lstrip().split(None, 1)[0].upper()] += \
                        time.perf_counter() - start
            return call

        def timed_copy(method: Any) -> Any:
            @contextlib.contextmanager
            def call(self: Any, query: Any, *args: Any, **kw: Any) -> Any:
                start = time.perf_counter()
                try:
                    with method(self, query, *args, **kw) as copy:
                        yield copy
                finally:
                    clock["COPY"] += time.perf_counter() - start
            return call

        cursor.execute = timed(cursor.execute)  # type: ignore[method-assign]
        cursor.executemany = timed(cursor.executemany)  # type: ignore[method-assign]
        cursor.copy = timed_copy(cursor.copy)  # type: ignore[method-assign]


@dataclass
class Samples:
    """What the lookups pick from: the agencies owning running spans (with how many), ID
    numbers of the loaded people, the provinces."""

    running_owners: Counter[str]
    persons: list[str]
    provinces: list[str]

    @classmethod
    def of_database(cls, url: sa.URL) -> Samples:
        """Taken from a database loaded before (``--measure-only``)."""
        with psycopg.connect(libpq(url)) as con:
            owners = Counter(dict(con.execute(
                "SELECT owner_agency, count(*) FROM span WHERE ended_on IS NULL GROUP BY 1")))
            persons = [p for (p,) in con.execute(
                "SELECT person_id FROM transfer_case TABLESAMPLE SYSTEM (1) LIMIT 5000")]
        return cls(owners, persons, sorted({a[:2] for a in owners}))


def measure(url: sa.URL, cases: int, sample: Samples, reps: int,
            samples: int) -> dict[str, Any]:
    figures: dict[str, Any] = {"cases": cases}
    rng = random.Random(cases)
    print(f"\n### {cases:,} cases")
    with psycopg.connect(libpq(url), autocommit=True) as con:
        size = con.execute("SELECT pg_database_size(current_database())").fetchone()[0]
        tables = con.execute(
            "SELECT relname, pg_total_relation_size(oid) FROM pg_class WHERE relname = ANY(%s) "
            "ORDER BY 2 DESC", [list(LOADED)]).fetchall()
        counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in LOADED}
        running = con.execute("SELECT count(*) FROM span WHERE ended_on IS NULL").fetchone()[0]
    print("rows: " + ", ".join(f"{t} {n:,}" for t, n in counts.items())
          + f"; running spans {running:,}")
    per_million = size / cases * 1e6 / 2**30
    figures["gib_per_million"] = per_million
    print(f"{'database size':<44} {size / 2**30:.2f} GiB, {per_million:.2f} GiB per million "
          "cases (" + ", ".join(f"{n} {b / 2**30:.2f}" for n, b in tables) + " GiB)")
    engine = Engine(url.render_as_string(hide_password=False))
    try:
        clock = QueryClock()
        clock.attach(engine.db)
        # The daily scan, the day after a completed one (loaded with the data).
        walls, queries, raised, splits = [], [], [], []
        for _ in range(reps):
            with engine.db.connect() as conn:
                before = conn.scalar(sa.text("SELECT coalesce(max(id), 0) FROM outbox_event"))
            clock.seconds.clear()
            start = time.perf_counter()
            result = engine.scan(AS_OF)
            walls.append(time.perf_counter() - start)
            queries.append(sum(clock.seconds.values()))
            kinds = dict(clock.seconds)
            splits.append(kinds)
            raised.append(sum(result.counts.values()))
            with engine.db.begin() as conn:  # undone, so that the next scan finds the same
                conn.execute(sa.text("DELETE FROM alert WHERE run_id = :r"), {"r": result.run_id})
                conn.execute(sa.text("DELETE FROM outbox_event WHERE id > :b"), {"b": before})
                conn.execute(sa.text("DELETE FROM scheduler_run WHERE id = :r"),
                             {"r": result.run_id})
        figures["scan"] = queries
        figures["scan_wall"] = walls
        print(f"{'daily scan, raised ' + f'{raised[0]:,} alerts':<44} wall "
              f"{statistics.median(walls):.3f} s ({min(walls):.3f}-{max(walls):.3f}); "
              f"counts {dict(result.counts)}; the last scan's query time by statement: "
              + ", ".join(f"{k} {v:.3f} s" for k, v in sorted(kinds.items(), key=lambda kv:
                                                               -kv[1])))
        verdict("daily scan, query time (median)", statistics.median(queries) * 1000, 1000,
                f"{statistics.median(queries):.3f} s ({min(queries):.3f}-{max(queries):.3f})")
        # A clerk's inbox page: 50 running spans of their agency, soonest due first.
        owners = list(sample.running_owners)
        weights = [sample.running_owners[a] for a in owners]
        agencies = rng.choices(owners, weights, k=samples)
        inbox = latencies(lambda a: engine.alert_service.inbox(
            InboxQuery(as_of=AS_OF, agencies=(a,), limit=50)), agencies)
        figures["inbox"] = inbox
        verdict("clerk's inbox page (50 rows + total)", percentile(inbox, 99), 100, spread(inbox))
        # A person by ID number.
        people = rng.sample(sample.persons, min(samples, len(sample.persons)))
        person = latencies(lambda p: engine.case_service.cases(CaseQuery(person_id=p)), people)
        figures["person"] = person
        verdict("a person's cases by ID number", percentile(person, 99), 20, spread(person))
        # A filtered case list with its total (the desk's search: the page, then the count).
        states = ["applied", "reviewed", "funds_moved", "continued", "rejected"]
        filters = [CaseQuery(province=rng.choice(sample.provinces), state=rng.choice(states),
                             insurance=rng.choice(["pension", "medical"]), limit=50)
                   for _ in range(samples)]
        listed = latencies(lambda q: (engine.case_service.cases(q),
                                      engine.case_service.count(q)), filters)
        figures["list"] = listed
        verdict("filtered case list, 50 rows + total", percentile(listed, 99), 200,
                spread(listed))
        # A province's overdue report, figures and every line.
        province = Counter(a[:2] for a in sample.running_owners.elements()).most_common(1)[0][0]
        report_times, lines = [], 0
        for _ in range(reps):
            start = time.perf_counter()
            report = engine.overdue_report(AS_OF, province=province)
            lines = sum(1 for _ in report.lines())
            report_times.append(time.perf_counter() - start)
        figures["report"] = report_times
        verdict(f"overdue report of province {province} ({lines:,} lines)",
                statistics.median(report_times) * 1000, 10_000,
                f"{statistics.median(report_times):.3f} s ({min(report_times):.3f}-"
                f"{max(report_times):.3f})")
        scan = statistics.median(queries)
        split = ", ".join(f"{kind} {statistics.median(k.get(kind, 0.0) for k in splits):.2f} s"
                          for kind in ("INSERT", "COPY", "SELECT", "UPDATE"))
        print(f"\n{cases:,} cases, {load_average()}")
        print("| measure | now | goal | met/missed |\n|---|---|---|---|")
        goal_row(f"daily scan raising {raised[0]:,} alerts: query time", f"{median_range(queries)}"
                 f" s ({split})", "< 1 s", scan < 1, f"{scan - 1:.2f} s")
        for name, times, goal in (("clerk's inbox page (50 rows + total), p99", inbox, 100),
                                  ("a person's cases by ID number, p99", person, 20),
                                  ("filtered case list, 50 rows + total, p99", listed, 200)):
            p99 = percentile(times, 99)
            goal_row(name, f"{p99:.1f} ms", f"< {goal} ms", p99 < goal, f"{p99 - goal:.1f} ms")
        report = statistics.median(report_times)
        goal_row(f"overdue report of province {province}", f"{median_range(report_times)} s",
                 "< 10 s", report < 10, f"{report - 10:.1f} s")
        print(f"| database size | {per_million:.2f} GiB per million cases | (recorded) | - |")
    finally:
        engine.close()
    return figures


def measure_again(url: sa.URL, reps: int, samples: int) -> None:
    """The measurements alone, on a database loaded by an earlier run (after a new index)."""
    header("11. national scale on PostgreSQL: the measurements again, on the loaded database")
    print(f"command: cd bench && SSTRANSFER_BENCH_POSTGRES_URL=<url> ../.venv/bin/python "
          f"bench_national.py {' '.join(sys.argv[1:])}")
    upgrade_schema(url.render_as_string(hide_password=False))
    with psycopg.connect(libpq(url), autocommit=True) as con:
        con.execute("ANALYZE")
        cases = con.execute("SELECT count(*) FROM transfer_case").fetchone()[0]
    measure(url, cases, Samples.of_database(url), reps, samples)


# --- the run -------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=300_000)
    parser.add_argument("--minutes", type=float, default=20.0, help="cap on loading time")
    parser.add_argument("--checkpoint", type=int, default=1_000_000,
                        help="also measure at this size when the run goes past it")
    parser.add_argument("--alerts", type=int, default=10_000, help="new alerts per scan")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--measure-only", action="store_true",
                        help="measure the database a run loaded before (schema upgraded first)")
    args = parser.parse_args()
    url = bench_url()
    if args.measure_only:
        measure_again(url, args.reps, args.samples)
        return
    header(f"11. national scale on PostgreSQL: {args.cases:,} cases (loading capped at "
           f"{args.minutes:g} min), measured at "
           + ", ".join(f"{n:,}" for n in sorted({min(args.checkpoint, args.cases), args.cases})))
    print(f"command: cd bench && SSTRANSFER_BENCH_POSTGRES_URL=<url> ../.venv/bin/python "
          f"bench_national.py {' '.join(sys.argv[1:])}")
    fresh_database(url)
    with tempfile.TemporaryDirectory() as tmp:
        case_cols, history_cols, span_cols, found = templates(Path(tmp))
    with Engine(url.render_as_string(hide_password=False)) as engine:  # the schema
        calendar, settings = engine.calendar, engine.settings
    with psycopg.connect(libpq(url), autocommit=True) as con:
        version = con.execute("SHOW server_version").fetchone()[0]
        knobs = {k: con.execute(f"SHOW {k}").fetchone()[0] for k in (
            "shared_buffers", "work_mem", "fsync", "synchronous_commit")}
    print(f"PostgreSQL {version} ({', '.join(f'{k}={v}' for k, v in knobs.items())}); "
          f"psycopg {psycopg.__version__}, SQLAlchemy {sa.__version__}; load average "
          f"{os.getloadavg()[0]:.2f}")
    checkpoints = sorted({min(args.checkpoint, args.cases), args.cases})
    gen = Generator(found, case_cols, history_cols, span_cols, calendar, settings,
                    args.alerts, checkpoints[0])
    results = []
    loading = 0.0
    deadline = args.minutes * 60
    con = psycopg.connect(libpq(url))
    con.execute("SET session_replication_role = replica")  # the rows are consistent: no FK checks
    con.execute("SET TimeZone = 'UTC'")
    # The day before's scan, done: today's scan is a daily one.
    con.execute("INSERT INTO scheduler_run (job, as_of, holder, started_at, finished_at, status, "
                "detail) VALUES ('scan', %s, 'bench', now(), now(), 'done', '')",
                [AS_OF - dt.timedelta(days=1)])
    con.commit()
    stopped = False
    for target in checkpoints:
        indexes = secondary_indexes(con)
        for name, _ in indexes:
            con.execute(f'DROP INDEX "{name}"')
        con.commit()
        start = time.perf_counter()
        while gen.next_case <= target:
            n = min(BATCH, target - gen.next_case + 1)
            case_lines, history_lines, span_lines, alert_lines = gen.batch(n)
            with con.cursor() as cur:
                copy_lines(cur, "transfer_case", ["id", *case_cols], case_lines)
                copy_lines(cur, "case_history", ["id", *history_cols], history_lines)
                copy_lines(cur, "span", ["id", *span_cols], span_lines)
                copy_lines(cur, "alert", ALERT_COLUMNS, alert_lines)
            con.commit()
            if loading + time.perf_counter() - start > deadline:
                stopped = True
                break
        copied = time.perf_counter() - start
        start = time.perf_counter()
        con.execute("SET maintenance_work_mem = '512MB'")
        for _, definition in indexes:
            con.execute(definition)
        for table, column in (("transfer_case", "id"), ("case_history", "id"), ("span", "id"),
                              ("alert", "id")):
            con.execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                        f"(SELECT coalesce(max({column}), 1) FROM {table}))")
        con.commit()
        con.autocommit = True
        con.execute("ANALYZE")
        con.autocommit = False
        indexed = time.perf_counter() - start
        loading += copied
        size = gen.next_case - 1
        rate = size / loading
        print(f"\nloaded {size:,} cases in {loading / 60:.1f} min of COPY ({rate:,.0f} cases/s; "
              f"this step: {copied:.0f} s), indexes and ANALYZE {indexed:.0f} s; "
              f"{gen.new_raised:,} spans set to raise a new alert")
        results.append(measure(url, size, Samples(gen.running_owners, gen.person_sample,
                                                  gen.provinces), args.reps, args.samples))
        if stopped:
            break
    con.close()
    invalid = [p for p in gen.person_sample if not ric.is_valid(p)]
    assert not invalid, f"ID numbers python-stdnum refuses: {len(invalid)}"
    summary(args.cases, args.minutes, gen.next_case - 1, loading, results)


def summary(target: int, minutes: float, size: int, loading: float,
            results: list[dict[str, Any]]) -> None:
    """The extrapolation to the target when loading stopped short, and how the figures grew
    from the checkpoint to the final size."""
    if size < target:
        print(f"\nloading stopped at the {minutes:g}-minute cap: {size:,} of "
              f"{target:,} cases; at {size / loading:,.0f} cases/s the target would take "
              f"{target / (size / loading) / 60:.0f} min of COPY (plus indexes), and "
              f"{results[-1]['gib_per_million'] * target / 1e6:.1f} GiB")
    if len(results) == 2:
        a, b = results
        growth = b["cases"] / a["cases"]
        print(f"\nfrom {a['cases']:,} to {b['cases']:,} cases (x{growth:.1f}), the ratio of the "
              "larger's figure to the smaller's (medians; p99 for the lookups):")
        for name, pick in (("scan", statistics.median), ("scan_wall", statistics.median),
                           ("inbox", lambda v: percentile(v, 99)),
                           ("person", lambda v: percentile(v, 99)),
                           ("list", lambda v: percentile(v, 99)),
                           ("report", statistics.median)):
            ratio = pick(b[name]) / pick(a[name])
            goal = ("  goal flat (<= 1.25): " + ("met" if ratio <= 1.25 else "MISSED")
                    if name == "scan" else "")
            print(f"  {name:<10} {ratio:5.2f}{goal}")


if __name__ == "__main__":
    main()
