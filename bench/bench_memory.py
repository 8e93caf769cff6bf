"""5. Memory: one process streams 1,000,000 cases through a scan and a report.

Every case has a running span and all are overdue, so the scan raises an alert for each and
the report lists each (CSV). The figure is the process's peak resident memory; the baseline
is the same process's peak after opening the engine, before the scan.
Target: under 300 MB.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import tempfile
from pathlib import Path

from common import figure, fill_sqlite, header, max_rss_mb, timed

AS_OF = dt.date(2026, 11, 20)
N = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 1_000_000


def child(path: str) -> None:
    """Runs in a fresh process so that building the data does not count."""
    from workflow import Engine
    from workflow.services.reports import write_report

    engine = Engine(f"sqlite:///{path}")
    base = max_rss_mb()
    with timed() as scan:
        result = engine.scan(AS_OF)
    with timed() as report:
        out = write_report(engine.overdue_report(AS_OF), "csv", Path(path).with_suffix(".csv"))
    lines = sum(1 for _ in out.open(encoding="utf-8-sig")) - 1
    print(f"{base} {max_rss_mb()} {result.raised} {lines} {scan['seconds']} {report['seconds']}")


def main() -> None:
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
