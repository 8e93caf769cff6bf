"""The money of a transfer: the pension fund rule and the information form's data.

《城镇企业职工基本养老保险关系转移接续暂行办法》(国办发〔2009〕66号) 第四条, as published reposts
give it: "参保人员跨省流动就业转移基本养老保险关系时，按下列方法计算转移资金：（一）个人账户储存额：
1998年1月1日之前按个人缴费累计本息计算转移，1998年1月1日后按计入个人账户的全部储存额计算转移。
（二）统筹基金（单位缴费）：以本人1998年1月1日后各年度实际缴费工资为基数，按12%的总和转移，参保缴费
不足1年的，按实际缴费月数计算转移。" The personal account's figure is the origin agency's (the
balance it states, counted as (一) says); the pooled fund is computed here by (二).

Rounding (pinned in tests/test_papers.py): Σ months × monthly base over the months from
1998-01 is exact; 12 % of it is rounded once, to the fen, half up. Each row of the form shows
its own 12 % rounded to the fen, so the rows may differ from the total by a fen or two.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import re
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ..errors import InvalidInput
from .inputs import MAX_MONTHS, parse_amount, shown

POOLED_RATE = Decimal("0.12")
#: The first month that carries a pooled fund (art. 4: since 1998-01-01).
POOLED_FROM = (1998, 1)
FEN = Decimal("0.01")
_MONTH = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")


@dataclasses.dataclass(frozen=True, slots=True)
class ContributionPeriod:
    """Months paid at one monthly contribution base, ``start`` to ``end`` inclusive."""

    start: tuple[int, int]  # (year, month)
    end: tuple[int, int]
    monthly_base: Decimal

    def months(self) -> list[tuple[int, int]]:
        (y, m), out = self.start, []
        while (y, m) <= self.end:
            out.append((y, m))
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out


@dataclasses.dataclass(frozen=True, slots=True)
class ContributionRow:
    """A year (and base) of the contribution record on the information form."""

    year: int
    months: int
    monthly_base: Decimal
    pooled: Decimal  # 12 % of months × base, to the fen (0 before 1998)


@dataclasses.dataclass(frozen=True, slots=True)
class PensionFunds:
    personal_account: Decimal
    pooled_fund: Decimal
    total: Decimal
    months: int
    rows: tuple[ContributionRow, ...]

    def as_json(self) -> dict[str, Any]:
        return {"personal_account": f"{self.personal_account:.2f}",
                "pooled_fund": f"{self.pooled_fund:.2f}", "total": f"{self.total:.2f}",
                "months": self.months}


def _month(text: str, what: str) -> tuple[int, int]:
    found = _MONTH.match(text)
    if not found:
        raise InvalidInput(f"{what}: {shown(text)} is not a month YYYY-MM")
    year, month = int(found[1]), int(found[2])
    if not 1 <= month <= 12 or not 1950 <= year <= dt.date.today().year + 1:
        raise InvalidInput(f"{what}: {text.strip()} is not a month from 1950 to next year")
    return year, month


def _base(value: object, what: str) -> Decimal:
    try:
        base = parse_amount(value)
    except InvalidInput as exc:
        raise InvalidInput(f"{what}: the monthly base {exc}") from None
    if base <= 0:
        raise InvalidInput(f"{what}: the monthly base must be more than 0, not {base}")
    return base


def parse_period(text: object) -> ContributionPeriod:
    """``FROM:TO:MONTHLY_BASE`` (``1998-01:2005-12:3000.00``), months inclusive."""
    if not isinstance(text, str) or text.count(":") != 2:
        raise InvalidInput(f"a period is FROM:TO:MONTHLY_BASE (1998-01:2005-12:3000.00), "
                           f"not {shown(text)}")
    start, end, base = text.split(":")
    return _period(start, end, base, f"period {text.strip()}")


def _period(start: object, end: object, base: object, what: str) -> ContributionPeriod:
    if not isinstance(start, str) or not isinstance(end, str):
        raise InvalidInput(f"{what}: from and to are months YYYY-MM")
    period = ContributionPeriod(_month(start, what), _month(end, what), _base(base, what))
    if period.end < period.start:
        raise InvalidInput(f"{what}: ends before it starts")
    return period


def pension_funds(periods: Iterable[ContributionPeriod],
                  personal_account: Decimal | int | str) -> PensionFunds:
    """The funds a pension transfer moves (国办发〔2009〕66号 art. 4), with the form's rows."""
    periods = sorted(periods, key=lambda p: p.start)
    if not periods:
        raise InvalidInput("the information form needs at least one contribution period")
    for before, after in itertools.pairwise(periods):
        if after.start <= before.end:
            raise InvalidInput(f"contribution periods overlap: {_named(before)} and "
                               f"{_named(after)}")
    account = parse_amount(personal_account)
    rows: list[ContributionRow] = []
    exact, months = Decimal(0), 0
    for period in periods:
        by_year: dict[int, int] = {}
        for y, _m in period.months():
            by_year[y] = by_year.get(y, 0) + 1
        for year, count in by_year.items():
            carried = year >= POOLED_FROM[0]
            part = POOLED_RATE * count * period.monthly_base if carried else Decimal(0)
            exact += part
            months += count
            rows.append(ContributionRow(year, count, period.monthly_base,
                                        part.quantize(FEN, ROUND_HALF_UP)))
    if months > MAX_MONTHS:
        raise InvalidInput(f"the contribution record has {months} months: at most {MAX_MONTHS}")
    pooled = exact.quantize(FEN, ROUND_HALF_UP)
    return PensionFunds(account, pooled, account + pooled, months, tuple(rows))


def _named(p: ContributionPeriod) -> str:
    return f"{p.start[0]}-{p.start[1]:02d}:{p.end[0]}-{p.end[1]:02d}:{p.monthly_base}"


#: Contribution periods one form may list (one per base change: a working life has far fewer).
MAX_PERIODS = 600


def check_information_form(insurance: str, value: object) -> dict[str, Any]:
    """The information form's data a move_funds step takes, normalised, with its figures."""
    if not isinstance(value, Mapping):
        raise InvalidInput("the information form must be a mapping of its fields")
    keys = ({"periods", "personal_account"} if insurance == "pension"
            else {"personal_account", "months_actual", "months_deemed"})
    unknown = sorted(map(str, set(value) - keys))
    if unknown:
        raise InvalidInput(f"the information form has no {', '.join(unknown)}; its fields: "
                           f"{', '.join(sorted(keys))}")
    if "personal_account" not in value:
        raise InvalidInput("the information form needs personal_account (yuan)")
    if insurance == "medical":
        return _medical(value)
    raw = value.get("periods")
    if isinstance(raw, (str, bytes, Mapping)) or not isinstance(raw, Iterable):
        raise InvalidInput("the information form needs periods: a list of "
                           "{from, to, monthly_base} (or FROM:TO:BASE texts)")
    raw = list(itertools.islice(raw, MAX_PERIODS + 1))
    if len(raw) > MAX_PERIODS:
        raise InvalidInput(f"the information form has at most {MAX_PERIODS} periods")
    periods = [_form_period(p, i) for i, p in enumerate(raw, 1)]
    funds = pension_funds(periods, value["personal_account"])
    return {
        "periods": [{"from": f"{p.start[0]}-{p.start[1]:02d}",
                     "to": f"{p.end[0]}-{p.end[1]:02d}",
                     "monthly_base": f"{p.monthly_base:.2f}"} for p in periods],
        "rows": [{"year": r.year, "months": r.months, "monthly_base": f"{r.monthly_base:.2f}",
                  "pooled": f"{r.pooled:.2f}"} for r in funds.rows],
        **funds.as_json(),
    }


def _form_period(p: object, i: int) -> ContributionPeriod:
    if isinstance(p, str):
        return parse_period(p)
    if not isinstance(p, Mapping) or set(p) != {"from", "to", "monthly_base"}:
        raise InvalidInput(f"period {i} of the information form must have exactly from, to "
                           "and monthly_base")
    return _period(p["from"], p["to"], p["monthly_base"], f"period {i}")


def _medical(value: Mapping[Any, Any]) -> dict[str, Any]:
    account = parse_amount(value["personal_account"])
    counts = {}
    for name in ("months_actual", "months_deemed"):
        n = value.get(name, 0 if name == "months_deemed" else None)
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= MAX_MONTHS:
            raise InvalidInput(f"the information form's {name} must be a whole number of "
                               f"months from 0 to {MAX_MONTHS}, not {shown(n)}")
        counts[name] = n
    months = counts["months_actual"] + counts["months_deemed"]
    if months > MAX_MONTHS:
        raise InvalidInput(f"the information form counts {months} months: at most {MAX_MONTHS}")
    return {"personal_account": f"{account:.2f}", **counts, "months": months,
            "total": f"{account:.2f}"}


__all__ = ["ContributionPeriod", "ContributionRow", "PensionFunds", "check_information_form",
           "parse_period", "pension_funds"]
