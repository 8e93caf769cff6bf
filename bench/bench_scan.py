"""2. Overdue scan: 10,000 overdue spans among 100,000 and among 1,000,000 cases.

Target: under 1 second on SQLite, and nearly the same time with 10 times more cases in the
database (the scan reads running spans by due date, not cases). The baseline is the same
scan over 100,000 cases.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from pathlib import Path

from common import figure, fill_sqlite, header, timed

from workflow import Engine

AS_OF = dt.date(2026, 11, 20)
SIZES = [int(a) for a in sys.argv[1:]] or [100_000, 1_000_000]
OVERDUE = 10_000


def scan_seconds(folder: Path, cases: int) -> tuple[float, dict]:
    path = folder / f"scan-{cases}.db"
    Engine(f"sqlite:///{path}").close()  # the schema
    fill_sqlite(path, cases, OVERDUE, AS_OF)
    with Engine(f"sqlite:///{path}") as engine:
        with timed() as t:
            result = engine.scan(AS_OF)
        assert result.count("overdue") == OVERDUE, result.counts
    return t["seconds"], result.counts


def main() -> None:
    header(f"2. overdue scan finding {OVERDUE:,} overdue spans (SQLite)")
    with tempfile.TemporaryDirectory() as tmp:
        times = {n: scan_seconds(Path(tmp), n) for n in SIZES}
    base = times[SIZES[0]][0]
    for n, (seconds, counts) in times.items():
        figure(f"scan with {n:,} cases ({sum(counts.values()):,} alerts raised)", seconds, "s",
               baseline=base if n != SIZES[0] else None,
               target="target: < 1 s, ratio near 1" if n != SIZES[0] else "(baseline)")


if __name__ == "__main__":
    main()
