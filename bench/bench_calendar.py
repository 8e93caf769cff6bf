"""3. Due-date arithmetic: adding 15 working days, against the day-by-day approach.

The baseline walks day by day with the `holidays` package's own China calendar
(`get_nth_working_day`), as a program without precomputed tables would.
Target: at least 1,000,000 additions per second.
"""

from __future__ import annotations

import datetime as dt
import random

import holidays
from common import figure, header, timed

from workflow import WorkingCalendar

N = 1_000_000
N_BASELINE = 20_000


def main() -> None:
    header("3. due-date arithmetic: 15 working days")
    rng = random.Random(3)
    days = [dt.date(2025, 1, 1) + dt.timedelta(days=rng.randrange(730)) for _ in range(N)]
    cal = WorkingCalendar()
    add = cal.add_working_days
    with timed() as t:
        for d in days:
            add(d, 15)
    rate = N / t["seconds"]
    china = holidays.China(years=range(2025, 2028))
    with timed() as t:
        for d in days[:N_BASELINE]:
            china.get_nth_working_day(d, 15)
    base = N_BASELINE / t["seconds"]
    mismatches = sum(add(d, 15) != china.get_nth_working_day(d, 15) for d in days[:2000])
    figure("holidays day-by-day (baseline)", base, "additions/s")
    figure("WorkingCalendar.add_working_days", rate, "additions/s", baseline=base,
           target="target: >= 1,000,000/s")
    figure("answers differing from the baseline (of 2,000)", mismatches, "")


if __name__ == "__main__":
    main()
