"""9. The overdue scan's cost of logging: at the command line's default level, and in a host
that shows every event (``logging.basicConfig(level=logging.DEBUG)``), against the same scan
with logs dropped. (A host that configures nothing sees nothing: issue 21.)

The scan logs one summary event (plus one event per alert only at debug level). Goal (issue
9): at the command line's default level (warnings), at most 1.1 times the scan with logs
dropped. Each repetition scans a fresh copy of the same database (alerts are raised once), the
three sides interleaved, in separate processes so that structlog's configuration is each one's
own.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from common import fill_sqlite, header

AS_OF = dt.date(2026, 11, 20)
CASES, OVERDUE, REPS = 50_000, 10_000, 3
SIDES = ("dropped", "cli-default", "host-debug")

CHILD = r"""
import datetime as dt, json, logging, sys, time
side, path = sys.argv[1], sys.argv[2]
from workflow.logs import to_stderr
if side == "dropped":  # every event filtered out before it is built
    logging.getLogger("sstransfer").setLevel(logging.CRITICAL)
elif side == "cli-default":  # what `sstransfer` sets without --log-level: warnings and above
    to_stderr(logging.WARNING)
else:  # a host that shows every event, debug included
    logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
from workflow import Engine
with Engine(f"sqlite:///{path}") as engine:
    start = time.perf_counter()
    result = engine.scan(dt.date(2026, 11, 20))
    seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "raised": result.raised}))
"""


def main() -> None:
    header(f"9. overdue scan ({OVERDUE:,} overdue spans among {CASES:,} cases): the cost of logs")
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "source.db"
        subprocess.run([sys.executable, "-c", "import sys; from workflow import Engine; "
                        "Engine(f'sqlite:///{sys.argv[1]}').close()", str(source)], check=True)
        fill_sqlite(source, CASES, OVERDUE, AS_OF)
        times: dict[str, list[float]] = {s: [] for s in SIDES}
        for rep in range(REPS):
            for side in SIDES[rep % len(SIDES):] + SIDES[:rep % len(SIDES)]:
                copy = Path(tmp) / f"{side}-{rep}.db"
                shutil.copy(source, copy)
                out = subprocess.run([sys.executable, "-c", CHILD, side, str(copy)], check=True,
                                     capture_output=True, text=True)
                times[side].append(json.loads(out.stdout.splitlines()[-1])["seconds"])
    base = statistics.median(times["dropped"])
    print(f"  logs dropped: {base:.3f} s (median of {REPS}; "
          f"{min(times['dropped']):.3f}–{max(times['dropped']):.3f})")
    for side, goal in (("cli-default", "goal: ≤ 1.1×"), ("host-debug", "(report)")):
        runs = times[side]
        ratios = [r / base for r in runs]
        print(f"  {side}: {statistics.median(runs):.3f} s, ratio {statistics.median(ratios):.2f}× "
              f"({min(ratios):.2f}–{max(ratios):.2f}) of logs dropped; {goal}")


if __name__ == "__main__":
    main()
