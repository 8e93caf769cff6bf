"""5. Memory.

5a (issues 9 and 22): the peak resident memory of a fresh process that opened 1,000 cases and
fired 4,000 transitions on a new SQLite file (bench/peers/sstransfer_engine.py, the peer race's
engine side), against the same interpreter doing nothing, with the memory of imports alone and
of each heavy dependency imported alone to show where it goes. Fresh processes, interleaved,
REPS repetitions, median and range. Figures are Linux's VmHWM (peak resident memory since
exec): ``ru_maxrss`` would start at this script's own peak, inherited at fork. Target: < 60 MB.

The calendar keeps the `holidays` package's China in a cache folder (``SSTRANSFER_CACHE_DIR``,
here a temporary one) so that a start does not import the package, which imports every
country it knows. The goal is judged on a warm cache (every start of a machine but its first,
made here by one start before the repetitions); the first start, cold cache, is its own row.

5b: one process streams 1,000,000 cases through a scan and a report. Every case has a
running span and all are overdue, so the scan raises an alert for each and the report lists
each (CSV). The figure is the process's peak resident memory; the baseline is the same
process's peak after opening the engine, before the scan. Target: under 300 MB.

Usage: python bench_memory.py [N]   (N cases for 5b, default 1,000,000; 0 skips 5b)
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from common import figure, fill_sqlite, goal_row, header, max_rss_mb, timed

AS_OF = dt.date(2026, 11, 20)
N = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 1_000_000
REPS = 3
ROOT = Path(__file__).resolve().parent.parent
HWM = ("\nfor line in open('/proc/self/status'):\n"
       "    if line.startswith('VmHWM:'): print(int(line.split()[1]) / 1024)")
# What a process holds after importing only this (each in a fresh interpreter).
NEW_ENGINE = ("from workflow import Engine; import tempfile; "
              "Engine('sqlite:///' + tempfile.mkdtemp() + '/m.db')")
IMPORTS = {
    "python -c pass (baseline)": "pass",
    "import workflow (the package, lazy)": "import workflow",
    "from workflow import Engine": "from workflow import Engine",
    "Engine() on a new SQLite file": NEW_ENGINE,
    "  alone: sqlmodel (+ SQLAlchemy, its ORM, pydantic)": "import sqlmodel",
    "  alone: sqlalchemy": "import sqlalchemy",
    "  alone: pydantic": "import pydantic",
    "  alone: structlog (+ rich; imported with the first event shown)": "import structlog",
    "  alone: holidays' China (+ every country; cold cache only)":
        "from holidays.countries.china import ChinaStaticHolidays",
    "  alone: alembic (only to upgrade an older database)":
        "import alembic.script, alembic.config",
}
COLD = "Engine() on a new SQLite file, cold calendar cache (first start)"


def hwm_of(code: str, env: dict[str, str] | None = None) -> float:
    done = subprocess.run([sys.executable, "-c", code + HWM], capture_output=True, text=True,
                          check=True, cwd=ROOT, env=env)
    return float(done.stdout.split()[-1])


def fired_4000(tmp: Path, rep: int, env: dict[str, str]) -> float:
    done = subprocess.run([sys.executable, "sstransfer_engine.py", str(tmp / f"fire{rep}.db"),
                           "1000", "dropped"], capture_output=True, text=True, env=env,
                          cwd=Path(__file__).resolve().parent / "peers")
    if done.returncode:
        sys.exit(f"the measured process failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["transitions"] == 4000
    return result["vm_hwm_mb"]


def transitions_memory() -> None:
    header(f"5a. memory of a process that fired 4,000 transitions; {REPS} interleaved reps")
    figures: dict[str, list[float]] = {name: [] for name in [*IMPORTS, COLD, "fired 4,000"]}
    with tempfile.TemporaryDirectory() as tmp:
        warm = {**os.environ, "SSTRANSFER_CACHE_DIR": str(Path(tmp) / "cache")}
        hwm_of(NEW_ENGINE, warm)  # the machine's first start fills the calendar cache
        for rep in range(REPS):
            for name, code in IMPORTS.items():
                figures[name].append(hwm_of(code, warm))
            cold = {**os.environ, "SSTRANSFER_CACHE_DIR": str(Path(tmp) / f"cold{rep}")}
            figures[COLD].append(hwm_of(NEW_ENGINE, cold))
            figures["fired 4,000"].append(fired_4000(Path(tmp), rep, warm))
    base = statistics.median(figures["python -c pass (baseline)"])
    for name, values in figures.items():
        label = ("peak after opening 1,000 cases and firing 4,000 transitions"
                 if name == "fired 4,000" else name)
        target = "target: < 60 MB" if name == "fired 4,000" else ""
        print(f"{label:<68} {statistics.median(values):>6.1f} MB "
              f"({min(values):.1f}–{max(values):.1f})  ratio {statistics.median(values) / base:.1f}"
              f"  {target}".rstrip())
    peak = figures["fired 4,000"]
    goal_row("peak RSS after 1,000 cases and 4,000 steps (warm calendar cache)",
             f"{statistics.median(peak):.1f} MB ({min(peak):.1f}–{max(peak):.1f})", "< 60 MB",
             statistics.median(peak) < 60, f"{statistics.median(peak) - 60:.1f} MB")


def child(path: str) -> None:
    """Runs in a fresh process so that building the data does not count."""
    from workflow import Engine
    from workflow.render import write_report

    engine = Engine(f"sqlite:///{path}")
    base = max_rss_mb()
    with timed() as scan:
        result = engine.scan(AS_OF)
    with timed() as report:
        out = write_report(engine.overdue_report(AS_OF), "csv", Path(path).with_suffix(".csv"))
    lines = sum(1 for _ in out.open(encoding="utf-8-sig")) - 1
    print(f"{base} {max_rss_mb()} {result.raised} {lines} {scan['seconds']} {report['seconds']}")


def main() -> None:
    transitions_memory()
    if N == 0:
        return
    header(f"5. memory: scan and CSV report over {N:,} overdue cases (SQLite)")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "memory.db"
        subprocess.run([sys.executable, "-c", "from workflow import Engine; import sys; "
                        f"Engine('sqlite:///{path}').close()"], check=True,
                       cwd=Path(__file__).resolve().parent.parent)
        fill_sqlite(path, N, N, AS_OF)
        done = subprocess.run([sys.executable, __file__, "--child", str(path)],
                              capture_output=True, text=True)
        if done.returncode:
            sys.exit(f"the measured process failed:\n{done.stderr[-3000:]}")
    base, peak, alerts, lines, scan_s, report_s = done.stdout.split()
    figure("resident memory after opening the engine (baseline)", float(base), "MB")
    figure("peak resident memory after scan and report", float(peak), "MB",
           baseline=float(base), target="target: < 300 MB")
    figure(f"scan ({int(alerts):,} alerts raised)", float(scan_s), "s")
    figure(f"CSV report ({int(lines):,} lines)", float(report_s), "s")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2])
    else:
        main()
