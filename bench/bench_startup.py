"""7. Start-up: wall time of `sstransfer --help` against `python -c pass`, same run.

Each repetition runs both commands as fresh processes, interleaved, so that both see the same
load on the machine; the figure is the median (and range) of REPS repetitions of RUNS runs
each. Then `python -X importtime` names the slowest imports of the --help path, and the
modules it must not load are checked.
Target: `sstransfer --help` under 0.25 s (and, since the machine is shared, the same goal as
a ratio to `python -c pass`: 12.5×, with the interpreter's idle 0.020 s).
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
CLI = [str(BIN / "sstransfer"), "--help"]
PASS = [sys.executable, "-c", "pass"]
RUNS, REPS = 10, 5
HEAVY = ("sqlalchemy", "sqlmodel", "pydantic", "holidays", "structlog", "rich", "openpyxl",
         "apscheduler", "yaml", "transitions", "stdnum")


def wall(cmd: list[str]) -> float:
    """Mean seconds of RUNS runs of ``cmd``."""
    start = time.perf_counter()
    for _ in range(RUNS):
        subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - start) / RUNS


def slowest_imports(n: int = 6) -> list[tuple[int, str]]:
    code = "import sys; sys.argv = ['sstransfer', '--help']\nfrom workflow import cli\n" \
           "try:\n    cli.main()\nexcept SystemExit:\n    pass\n" \
           f"print(sorted(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)"
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True,
                          text=True, check=True)
    rows = []
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = line.split("|")
            if cumulative.strip().isdigit():
                rows.append((int(cumulative), name.rstrip()))
    print(f"heavy packages loaded by --help: {done.stderr.splitlines()[-1]}")
    return sorted(rows, reverse=True)[:n]


def spread(values: list[float]) -> str:
    return f"median {statistics.median(values):.3f} s (range {min(values):.3f}–{max(values):.3f})"


def header(title: str) -> None:
    """As common.header, without importing common (which loads the engine): this process
    stays small, so starting the measured ones costs the same as in a shell."""
    print(f"\n## {title}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, "
          f"{platform.python_implementation()} {platform.python_version()}, "
          f"{platform.system()}; date {dt.date.today()}")


def main() -> None:
    header(f"7. start-up: `sstransfer --help` vs `python -c pass`, {REPS} reps of {RUNS} runs")
    os.environ.pop("SSTRANSFER_DATABASE_URL", None)
    bases, helps = [], []
    for _ in range(REPS):  # interleaved
        bases.append(wall(PASS))
        helps.append(wall(CLI))
    over = [h - b for h, b in zip(helps, bases, strict=True)]
    print(f"{'python -c pass (baseline)':<40} {spread(bases)}")
    print(f"{'sstransfer --help':<40} {spread(helps)}  ratio "
          f"{statistics.median(helps) / statistics.median(bases):.1f}  target: < 0.25 s  "
          f"{'met' if statistics.median(helps) < 0.25 else 'MISSED'}")
    print(f"{'  of which beyond the interpreter':<40} {spread(over)}")
    # The goal is absolute, the machine is shared: when other work doubles `python -c pass`,
    # it doubles --help too. The same goal as a ratio, with `python -c pass` at its idle
    # 0.020 s on the machine of BENCHMARKS.md, is 12.5×.
    ratio = statistics.median(helps) / statistics.median(bases)
    print(f"{'  as a ratio (load-independent)':<40} {ratio:.1f}× python -c pass  target: ≤ 12.5× "
          f"(0.25 s / 0.020 s idle)  {'met' if ratio <= 12.5 else 'MISSED'}")
    print("slowest imports of the --help path (cumulative µs, -X importtime, one run):")
    for micros, name in slowest_imports():
        print(f"  {micros:>9,}  {name}")


if __name__ == "__main__":
    main()
