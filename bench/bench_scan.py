"""2. Overdue scan: 10,000 overdue spans among 100,000 and among 1,000,000 cases.

Each database is filled once; every repetition scans a fresh copy of it (a scan writes its
alerts), synced to disk before the scan, the two sizes interleaved, 3 repetitions (``REPS``),
median and range.
Goals (issue 9): under 0.5 s with 10,000 hits, and flat: the larger database's time within
±10 % of the smaller one's (the baseline, same run); with logging as the CLI's default has it
(``--log-level warning``, events to stderr) at most 1.1 times the time with events dropped.
Sizes: argv (default 100,000 1,000,000).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

from common import fill_sqlite, goal_line, header, median_range, timed

from workflow import Engine

AS_OF = dt.date(2026, 11, 20)
SIZES = [int(a) for a in sys.argv[1:]] or [100_000, 1_000_000]
OVERDUE = 10_000
REPS = int(os.environ.get("REPS", "3"))


def filled(folder: Path, cases: int) -> Path:
    path = folder / f"scan-{cases}.db"
    Engine(f"sqlite:///{path}").close()  # the schema
    fill_sqlite(path, cases, OVERDUE, AS_OF)
    return path


def logging_as(level: int | None) -> None:
    """The CLI's configuration at ``level`` (events to stderr), or events dropped (None)."""
    from workflow.logs import to_stderr

    to_stderr(logging.CRITICAL if level is None else level)


def scan_seconds(source: Path, scratch: Path) -> tuple[float, dict]:
    shutil.copyfile(source, scratch)
    # Flushed before timing: else the scan's first WAL checkpoint (which syncs the file)
    # pays for writing out the whole fresh copy, a cost that grows with the file.
    with scratch.open("rb+") as copy:
        os.fsync(copy.fileno())
    with Engine(f"sqlite:///{scratch}") as engine:
        with timed() as t:
            result = engine.scan(AS_OF)
        assert result.count("overdue") == OVERDUE, result.counts
    scratch.unlink()
    return t["seconds"], result.counts


def main() -> None:
    small, large = SIZES[0], SIZES[-1]
    header(f"2. overdue scan finding {OVERDUE:,} overdue spans (SQLite), {small:,} vs "
           f"{large:,} cases, {REPS} repetitions, interleaved")
    print(f"command: cd bench && ../.venv/bin/python bench_scan.py {small} {large}")
    times: dict[int, list[float]] = {small: [], large: []}
    with tempfile.TemporaryDirectory() as tmp:
        sources = {n: filled(Path(tmp), n) for n in (small, large)}
        cli: list[float] = []  # the smaller database, logging as the CLI's default has it
        for run in range(REPS):
            sides = [small, large, "cli"]
            for n in sides if run % 2 == 0 else sides[::-1]:
                logging_as(logging.WARNING if n == "cli" else None)
                seconds, counts = scan_seconds(sources[small if n == "cli" else n],
                                               Path(tmp) / "scratch.db")
                (cli if n == "cli" else times[n]).append(seconds)
                logging_as(None)
    alerts = sum(counts.values())  # the last scan's; every scan raises the same alerts
    print(f"{'scan, ' + f'{small:,} cases (baseline)':<58} {median_range(times[small])} s")
    print(f"{'scan, ' + f'{large:,} cases ({alerts:,} alerts raised per scan)':<58} "
          f"{median_range(times[large])} s")
    goal_line(f"scan with {large:,} cases, s / 0.5 s", [s / 0.5 for s in times[large]], 1.0,
              at_least=False)
    goal_line(f"{large:,} / {small:,} cases", [b / a for a, b in zip(
        times[small], times[large], strict=True)], 1.10, at_least=False)
    print(f"{'scan, ' + f'{small:,} cases, the CLI default logging (warning)':<58} "
          f"{median_range(cli)} s")
    goal_line("CLI default logging / logs dropped", [c / a for a, c in zip(
        times[small], cli, strict=True)], 1.10, at_least=False)


if __name__ == "__main__":
    main()
