"""A realistic, reproducible set of transfer cases, run through the real engine."""

from __future__ import annotations

import datetime as dt
import random
import shutil
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from stdnum.cn import ric

from .core.alerts import ALERT_LEVELS
from .core.definitions import Definition
from .core.figures import BUCKETS, OverdueReport
from .core.inputs import Actor
from .core.views import Case
from .engine import Engine
from .loading import COMMITMENTS_FILE

AS_OF = dt.date(2026, 11, 20)
FIRST_OPENING = dt.date(2025, 1, 2)
AGENCIES = {
    "110000": "北京市", "310000": "上海市", "440100": "广州市", "440300": "深圳市",
    "330100": "杭州市", "320500": "苏州市", "510100": "成都市", "420100": "武汉市",
    "610100": "西安市", "500000": "重庆市", "430100": "长沙市", "440600": "佛山市",
}
_BIRTH_PLACES = ["110105", "110108", "310104", "310110", "440103", "330103", "510103",
                 "420102", "610103", "430102", "320502", "370102"]
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰",
          "娟", "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "建华", "晓东"]


#: Committed limits for the demo only: illustrative, not any agency's published commitments.
DEMO_COMMITMENTS = """\
# Demo data: illustrative committed limits (承诺时限), NOT any agency's published commitments.
commitments:
  - {definition: medical_transfer, span: destination_continuation, province: "44",
     working_days: 3, source: demo data (illustrative)}
  - {definition: medical_transfer, span: destination_continuation, agency: "310000",
     working_days: 3, source: demo data (illustrative)}
  - {definition: medical_transfer, span: origin_transfer, agency: "110000",
     working_days: 7, source: demo data (illustrative)}
  - {definition: medical_transfer, span: origin_transfer, province: "33",
     working_days: 8, source: demo data (illustrative)}
  - {definition: pension_transfer, span: destination_review, agency: "440300", working_days: 7,
     source: demo data (illustrative)}
"""


#: The example of a paper exchange (``definitions/examples``): the demo runs one case on it.
PAPER_EXAMPLE = "pension_transfer_paper"


def demo_definitions(source: Path, target: Path) -> Path:
    """A copy of the definitions folder with the demo's illustrative committed limits (unless
    the folder has commitments of its own) and the example of a paper exchange."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target)
    example = target / "examples" / f"{PAPER_EXAMPLE}.yaml"
    if example.is_file() and not (target / example.name).exists():
        shutil.copyfile(example, target / example.name)
    commitments = target / COMMITMENTS_FILE
    if not commitments.is_file() or "- " not in commitments.read_text(encoding="utf-8"):
        commitments.write_text(DEMO_COMMITMENTS, encoding="utf-8")
    return target


def person_id(rng: random.Random) -> str:
    """A made-up resident ID number that `python-stdnum` accepts (place, date, check digit)."""
    while True:
        birth = dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 40))
        body = f"{rng.choice(_BIRTH_PLACES)}{birth:%Y%m%d}{rng.randrange(1000):03d}"
        number = body + ric.calc_check_digit(body + "0")
        if ric.is_valid(number):
            return number


@dataclass
class DemoStats:
    cases: int = 0
    steps: int = 0


def build_demo(engine: Engine, *, cases: int = 300, seed: int = 20251126,
               as_of: dt.date = AS_OF,
               progress: Callable[[int], None] | None = None) -> DemoStats:
    """Open ``cases`` transfers between 2025-01-02 and ``as_of`` and move each along.

    Agencies mostly meet their 15-working-day limits; some are late, some cases are still
    running at ``as_of``, a few are rejected, withdrawn or sent back for documents.
    """
    rng = random.Random(seed)
    cal = engine.calendar
    stats = DemoStats()
    span_days = (as_of - FIRST_OPENING).days

    # Where the definitions have them: a letter sent on paper and never recorded as received
    # (an in_transit alert), and a transfer reversed by the destination.
    extras = _extra_cases(engine)[:cases]
    cases -= len(extras)
    n = 0
    while n < cases:
        # One person's move usually opens two linked cases: pension and medical insurance.
        both = rng.random() < 0.6 and cases - n >= 2
        kinds = ["pension_transfer", "medical_transfer"] if both else [
            rng.choice(["pension_transfer", "medical_transfer"])]
        origin, destination = rng.sample(sorted(AGENCIES), 2)
        applicant = rng.choices(["employer", "self", "agent"], [6, 3, 1])[0]
        channel = rng.choices(["counter", "online"], [2, 1])[0]
        person = (person_id(rng), rng.choice(_SURNAMES) + rng.choice(_GIVEN))
        # A third of the applications came in over the last two months: those are still running.
        back = rng.randrange(60) if rng.random() < 0.35 else rng.randrange(span_days)
        opened = cal.add_working_days(as_of - dt.timedelta(days=back), 0)
        if opened > as_of:
            continue
        for insurance in kinds:
            if progress:
                progress(n)
            n += 1
            _run_case(engine, rng, stats, insurance, person, origin, destination, applicant,
                      channel, opened, as_of, n)
    for extra in extras:
        n += 1
        if progress:
            progress(n)
        extra(engine, rng, stats, as_of, n)
    return stats


_Extra = Callable[[Engine, random.Random, DemoStats, dt.date, int], None]


def _extra_cases(engine: Engine) -> list[_Extra]:
    """The demo's cases of the process's rarer turns its definitions have."""
    extras: list[_Extra] = []
    if PAPER_EXAMPLE in engine.definitions.names():
        extras.append(_letter_lost_on_paper)
    if "return_funds" in engine.definition("pension_transfer").triggers:
        extras.append(_reversed_transfer)
    return extras


def _demo_case(engine: Engine, rng: random.Random, stats: DemoStats, definition: str,
               opened: dt.date, n: int) -> tuple[Case, Actor, Actor]:
    """An employer's complete counter application from 310000 to 440300; the case and the
    destination's and the origin's clerk."""
    d = engine.definition(definition)
    case = engine.open_case(
        definition, person_id=person_id(rng), person_name=rng.choice(_SURNAMES) + rng.choice(_GIVEN),
        origin="310000", destination=DEMO_AGENCY, applicant="employer", channel="counter",
        documents=list(d.application_documents("employer", "counter")),
        actor=Actor(id=f"employer-{n}", role="employer"), on=opened,
        contact_phone=f"1380000{stats.cases:04d}", contact_email=f"applicant{stats.cases}@example.com")
    stats.cases += 1
    return (case, Actor(id="d-clerk-1", role="destination_clerk", agency=DEMO_AGENCY),
            Actor(id="o-clerk-1", role="origin_clerk", agency="310000"))


def _letter_lost_on_paper(engine: Engine, rng: random.Random, stats: DemoStats,
                          as_of: dt.date, n: int) -> None:
    """A contact letter sent on paper 20 working days before ``as_of`` and never recorded as
    received: past its 10 working days in transit, the scan raises an in_transit alert."""
    cal = engine.calendar
    opened = cal.subtract_working_days(as_of, 25)
    case, dest, _ = _demo_case(engine, rng, stats, PAPER_EXAMPLE, opened, n)
    walk = _Walk(engine, rng, stats, as_of, case, opened)
    walk.fire("review", dest, cal.add_working_days(opened, 3))
    walk.fire("send_letter", dest, cal.add_working_days(opened, 5))


def _reversed_transfer(engine: Engine, rng: random.Random, stats: DemoStats,
                       as_of: dt.date, n: int) -> None:
    """A pension transfer the destination could not continue after the funds arrived: it
    returned them with its reason, and the origin recorded them back."""
    cal = engine.calendar
    opened = cal.subtract_working_days(as_of, 60)
    case, dest, orig = _demo_case(engine, rng, stats, "pension_transfer", opened, n)
    walk = _Walk(engine, rng, stats, as_of, case, opened)
    walk.fire("review", dest, cal.add_working_days(opened, 5))
    walk.fire("send_letter", dest, cal.add_working_days(opened, 6))
    walk.fire("move_funds", orig, cal.add_working_days(opened, 15),
              **_funds(engine.definition("pension_transfer"), rng, opened))
    walk.fire("return_funds", dest, cal.add_working_days(opened, 20),
              explanation="转入地无该参保人在职参保登记，无法接续 (no insured employment at the "
                          "destination: the relationship cannot be continued)")
    walk.fire("receive_returned_funds", orig, cal.add_working_days(opened, 26))


def _run_case(engine: Engine, rng: random.Random, stats: DemoStats, insurance: str,
              person: tuple[str, str], origin: str, destination: str, applicant: str,
              channel: str, opened: dt.date, as_of: dt.date, n: int) -> None:
    """Open one case and move it along until its next step would fall after ``as_of``."""
    definition = engine.definition(insurance)
    complete = list(definition.application_documents(applicant, channel))
    documents = list(complete)
    # An entrusted agent brings the power of attorney and the client's ID copy to the opening
    # itself (it is refused without them): what may be missing is among the other documents.
    agent = set(definition.application_documents(applicant, channel)) - set(
        definition.application_documents("self", channel))
    if rng.random() < 0.15:
        documents.remove(rng.choice([k for k in complete if k not in agent]))
    schemes: dict[str, str | None] = {"origin_scheme": None, "destination_scheme": None}
    if definition.schemes:  # medical since 2021: most move within the employee scheme
        schemes = {"origin_scheme": rng.choices(definition.schemes, [4, 1])[0],
                   "destination_scheme": rng.choices(definition.schemes, [4, 1])[0]}
    # The agent's own name and ID number are recorded with an agent's application.
    entrusted = {"agent_name": rng.choice(_SURNAMES) + rng.choice(_GIVEN),
                 "agent_id_number": person_id(rng)} if applicant == "agent" else {}
    # Does a unit accept the person at the destination? An employer's application says yes;
    # most people applying themselves (or through an agent) have none: the premium window.
    receiving = applicant == "employer" or rng.random() < 0.3
    appl = Actor(id=f"{applicant}-{n}", role=applicant,
                 person_id=person[0] if applicant == "self" else None)
    dest = Actor(id=f"d-clerk-{rng.randrange(1, 6)}", role="destination_clerk", agency=destination)
    orig = Actor(id=f"o-clerk-{rng.randrange(1, 6)}", role="origin_clerk", agency=origin)
    case = engine.open_case(
        insurance, person_id=person[0], person_name=person[1], origin=origin,
        destination=destination, applicant=applicant, channel=channel, documents=documents,
        actor=appl, on=opened, origin_scheme=schemes["origin_scheme"],
        destination_scheme=schemes["destination_scheme"], receiving_employer=receiving,
        **entrusted,
        # Illustrative contact details (a reserved mail domain): the outbox tells applicants.
        contact_phone=f"1380000{stats.cases:04d}",
        contact_email=f"applicant{stats.cases}@example.com")
    stats.cases += 1
    walk = _Walk(engine, rng, stats, as_of, case, opened)
    missing = sorted(set(complete) - set(documents))
    if len(documents) < len(complete) and not _documents_sent_in(walk, appl, dest, missing):
        return
    if rng.random() < 0.07:
        walk.step("reject", dest, explanation="参保缴费凭证与系统记录不符 (payment voucher does "
                                              "not match the contribution records)")
        return
    if rng.random() < 0.03:
        walk.step("withdraw", appl)
        return
    letter = "send_letter" in definition.triggers  # medical since 2021 has no contact letter
    # With no receiving employer the person pays the premiums (medical since version 3).
    premium = "premium_paid" in definition.triggers and not receiving
    _ = (walk.step("review", dest) and (not letter or walk.step("send_letter", dest))
         and walk.step("move_funds", orig, **_funds(definition, rng, opened))
         and (not premium or walk.step("premium_paid", dest))
         and walk.step("continue_relationship", dest, **_months(definition, rng)))


def _funds(definition: Definition, rng: random.Random, opened: dt.date) -> dict[str, Any]:
    """move_funds' inputs: the information form's data (a contribution record of one to
    three bases since a year between 1993 and 2015) where the version takes it, else a bare
    amount with the form as a document."""
    if "information_form" not in definition.inputs_of("move_funds"):
        return {"documents": ["information_form"],
                "amount": Decimal(rng.randrange(100_000, 9_000_000)).scaleb(-2)}
    account = f"{Decimal(rng.randrange(100_000, 9_000_000)).scaleb(-2)}"
    if definition.insurance == "medical":
        return {"information_form": {"personal_account": account,
                                     "months_actual": rng.randrange(12, 300),
                                     "months_deemed": rng.choice([0, 0, 12, 36])}}
    start, end = dt.date(rng.randrange(1993, 2016), rng.randrange(1, 13), 1), opened
    periods, base = [], rng.randrange(1500, 6000)
    for part in range(rng.randrange(1, 4)):
        last = end if part == 2 else dt.date(min(start.year + rng.randrange(2, 8), end.year), 12, 1)
        if last < start or last > end:
            last = end
        periods.append(f"{start:%Y-%m}:{last:%Y-%m}:{base}")
        if last >= end:
            break
        start, base = dt.date(last.year + 1, 1, 1), base + rng.randrange(200, 1500)
    return {"information_form": {"periods": periods, "personal_account": account}}


def _months(definition: Definition, rng: random.Random) -> dict[str, Any]:
    """continue_relationship's input: the months the person has at the destination where the
    version adds them to the form's, else the cumulative months."""
    if "months_at_destination" in definition.inputs_of("continue_relationship"):
        return {"months_at_destination": rng.choice([0, 0, 0, 6, 24])}
    return {"contribution_months": rng.randrange(6, 360)}


@dataclass
class _Walk:
    """One demo case moved along a step at a time, each an agency's few working days after
    the one before, as long as the steps fall on or before ``as_of``."""

    engine: Engine
    rng: random.Random
    stats: DemoStats
    as_of: dt.date
    case: Case
    day: dt.date

    def step(self, trigger: str, actor: Actor, **kw: Any) -> bool:
        """Take the step if it falls on or before ``as_of``; whether it was taken."""
        delay = self.rng.choice([2, 3, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15, 17, 19, 22, 28])
        when = self.engine.calendar.add_working_days(self.day, delay)
        if when > self.as_of:
            return False
        self.fire(trigger, actor, when, **kw)
        return True

    def fire(self, trigger: str, actor: Actor, when: dt.date, **kw: Any) -> None:
        """Take the step on ``when``."""
        self.case = self.engine.fire(self.case.id, trigger, actor=actor, on=when, **kw)
        self.day = when
        self.stats.steps += 1


def _documents_sent_in(walk: _Walk, applicant: Actor, clerk: Actor, missing: list[str]) -> bool:
    """The clerk asks for the missing documents and the applicant sends them in (or, now and
    then, withdraws); whether the case goes on."""
    if not walk.step("request_documents", clerk, documents_needed=missing):
        return False
    if walk.rng.random() < 0.2:
        walk.step("withdraw", applicant)
        return False
    return walk.step("resubmit", applicant, documents=missing)


def write_demo_papers(engine: Engine, folder: Path) -> list[Path]:
    """One paper of each kind the demo's steps issued, as PDF and HTML, under ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    seen: set[str] = set()
    for case in engine.cases():
        for paper in engine.papers(case.id):
            if paper.kind in seen:
                continue
            seen.add(paper.kind)
            for fmt in ("html", "pdf"):
                path = folder / f"{paper.kind}-{paper.id}.{fmt}"
                path.write_bytes(engine.render_paper(paper.id, fmt))
                written.append(path)
        if len(seen) == 5:
            break
    return written


#: The agency whose demo staff get ready-made tokens (the demo's busiest, with committed limits).
DEMO_AGENCY = "440300"


@dataclass(frozen=True)
class DemoToken:
    who: str
    role: str
    agency: str
    token: str


def demo_tokens(engine: Engine) -> list[DemoToken]:
    """Ready-made API tokens for a clerk and a supervisor of :data:`DEMO_AGENCY` (demo data
    only: anyone who reads this source knows them)."""
    tokens = [DemoToken("demo-supervisor", "supervisor", DEMO_AGENCY,
                        f"demo-supervisor-{DEMO_AGENCY}"),
              DemoToken("demo-clerk", "clerk", DEMO_AGENCY, f"demo-clerk-{DEMO_AGENCY}")]
    for t in tokens:
        # The supervisor is granted both departments; the clerk's token names none, as tokens
        # made before departments: it works as both (tokens list says to reissue it).
        engine.create_token(t.who, t.role, t.agency, token=t.token,
                            label="demo token (public: demo data only)",
                            departments="both" if t.role == "supervisor" else None)
    return tokens


__all__ = ["AGENCIES", "AS_OF", "DEMO_AGENCY", "DEMO_COMMITMENTS", "PAPER_EXAMPLE", "DemoStats",
           "DemoToken",
           "build_demo", "demo_definitions", "demo_tokens", "person_id"]


@dataclass(frozen=True)
class SummaryTable:
    """One table of the demo's summary, as plain data (the command line draws it)."""

    title: str
    columns: tuple[str, ...]
    rows: Sequence[tuple[object, ...]] = field(default_factory=list)
    numeric: bool = False  # right-align every column but the first
    report: OverdueReport | None = None  # the report the table was taken from


def demo_summary(engine: Engine) -> list[SummaryTable]:
    """What the demo shows of its database: cases by state, the scan as of :data:`AS_OF`,
    overdue spans per agency, and overdue spans with committed and statutory due dates."""
    by_state: dict[str, Counter[str]] = defaultdict(Counter)
    for c in engine.cases():
        by_state[c.state][c.insurance] += 1
    states: tuple[str, ...] = ("applied", "awaiting_documents", "reviewed", "letter_sent",
                               "funds_moved", "continued", "rejected", "withdrawn")
    states += tuple(sorted(set(by_state) - set(states)))  # a paper exchange's, a reversal's
    cases = SummaryTable("cases by state", ("state", "pension", "medical", "total"), [
        (state, n["pension"], n["medical"], sum(n.values()))
        for state in states for n in [by_state.get(state, Counter())]], numeric=True)
    result = engine.scan(AS_OF)
    alerts = SummaryTable(f"alerts raised by the scan as of {AS_OF}", ("level", "alerts"),
                          [(level, result.count(level)) for level in ALERT_LEVELS])
    report = engine.overdue_report(AS_OF)
    agencies = SummaryTable(
        f"overdue spans per agency as of {AS_OF} (working days late, judged by the committed "
        "limit where there is one)",
        ("agency", *BUCKETS, "escalated", "past statutory due", "on time (week)"),
        [(s.agency, *s.buckets.values(), s.escalated, s.statutory_breaches,
          "–" if s.on_time_rate is None else f"{s.on_time_rate:.0%} of {s.closed}")
         for s in report.agencies.values()], report=report)
    committed = SummaryTable(
        "overdue spans with a committed limit: committed and statutory due dates, and whether "
        "the statutory one has passed (demo commitments, illustrative)",
        ("case", "insurance", "span", "agency", "committed", "statutory", "passed"),
        [(x.case_id, x.insurance, x.span, x.agency, x.committed_due_on, x.due_on,
          "yes" if x.statutory_breach else "")
         for x in report.lines() if x.committed_due_on is not None][:8])
    return [cases, alerts, agencies, committed]
