"""The fund calculator: what a pension transfer moves (国办发〔2009〕66号 art. 4)."""

from __future__ import annotations

from typing import Annotated

import typer

from .common import JsonOpt, group, out, print_json, row, table

funds_app = group(help="Compute the funds a transfer moves (no database needed).")


@funds_app.command("pension")
def pension(
    period: Annotated[list[str], typer.Option(
        "--period", help="FROM:TO:MONTHLY_BASE, months inclusive (1998-01:2005-12:3000.00); "
        "repeat.")],
    personal_account: Annotated[str, typer.Option(
        help="The personal-account balance, yuan.")],
    as_json: JsonOpt = False,
) -> None:
    """The personal account, the pooled fund (12 % of each year's bases since 1998, by
    months paid, rounded once to the fen, half up), the total and the months counted."""
    from ..core.funds import parse_period, pension_funds

    funds = pension_funds([parse_period(p) for p in period], personal_account)
    if as_json:
        print_json(funds.as_json())
        return
    rows = table("contribution record", ("year", "months", "monthly base", "pooled fund"),
                 whole=("year", "months", "monthly base", "pooled fund"),
                 right=("months", "monthly base", "pooled fund"))
    for r in funds.rows:
        row(rows, r.year, r.months, f"{r.monthly_base:.2f}", f"{r.pooled:.2f}")
    out.print(rows)
    for label, value in funds.as_json().items():
        out.print(f"{label}: {value}")
