"""8. Peer race: 1,000 cases × 4 persisted transitions on a SQLite file (issue 9).

Sides (bench/peers/, one script each, every run a fresh process on a fresh database file):
sstransfer's Engine with structlog's default configuration and with logs dropped (the
project's .venv), SpiffWorkflow, transitions + SQLModel, python-statemachine, SQLModel alone
(bench/.venv-peers, made by `make bench-peers`), and a bare sqlite3 loop on a minimal schema.
Every side uses the engine's pragmas (WAL, synchronous NORMAL, foreign keys on) and prints
the ones its connection really has. The sides are interleaved, their order rotated each
repetition; figures are medians and ranges of the repetitions, ratios are taken within a
repetition. Peak RSS is the script's own ``getrusage(RUSAGE_SELF).ru_maxrss``; this driver
imports nothing heavy, so the floor a child inherits from it at exec is its own (printed).
Goals (issue 22): the engine with structlog's default logging ahead of every peer (≥ 1.0×
the fastest) and ≥ 2× each ORM-based peer (transitions + SQLModel, SQLModel alone); its ratio
to the bare loop is reported.

Usage: python bench_peers.py [CASES] [REPS]   (defaults 1000 and 3)
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PEERS = HERE / "peers"
PROJECT_PY = sys.executable
PEERS_PY = str(HERE / ".venv-peers" / "bin" / "python")
CASES = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
REPS = int(sys.argv[2]) if len(sys.argv) > 2 else 3

ENGINE_DEFAULT, ENGINE_DROPPED, BARE = "sstransfer, logs default", "sstransfer, logs dropped", \
    "bare sqlite3 loop"
SIDES = [  # name, interpreter, script, extra arguments
    (ENGINE_DEFAULT, PROJECT_PY, "sstransfer_engine.py", ["default"]),
    (ENGINE_DROPPED, PROJECT_PY, "sstransfer_engine.py", ["dropped"]),
    ("SpiffWorkflow", PEERS_PY, "spiffworkflow_peer.py", []),
    ("transitions + SQLModel", PEERS_PY, "transitions_sqlmodel.py", []),
    ("python-statemachine", PEERS_PY, "python_statemachine.py", []),
    ("SQLModel alone", PEERS_PY, "sqlmodel_peer.py", []),
    (BARE, PROJECT_PY, "bare_sqlite3.py", []),
]
PEER_NAMES = [s[0] for s in SIDES if s[0] not in (ENGINE_DEFAULT, ENGINE_DROPPED, BARE)]
ORM_PEERS = ["transitions + SQLModel", "SQLModel alone"]
VERSIONS = {PROJECT_PY: ["sstransfer", "SQLAlchemy", "structlog"],
            PEERS_PY: ["SpiffWorkflow", "transitions", "python-statemachine", "sqlmodel",
                       "SQLAlchemy"]}


def run(name: str, python: str, script: str, extra: list[str], db: Path) -> dict:
    done = subprocess.run([python, script, str(db), str(CASES), *extra], cwd=PEERS,
                          capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    if done.returncode:
        sys.exit(f"{name} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["transitions"] == CASES * 4, result
    return result


def versions(python: str) -> str:
    code = ("from importlib.metadata import version\n"
            f"print(', '.join(f'{{n}} {{version(n)}}' for n in {VERSIONS[python]!r}))")
    return subprocess.run([python, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip()


def spread(values: list[float], fmt: str = ",.0f") -> str:
    return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}–{max(values):{fmt}})"


def main() -> None:
    if not Path(PEERS_PY).exists():
        sys.exit("the peers are not installed: run `make bench-peers` (bench/.venv-peers)")
    print(f"\n## 8. peer race: {CASES:,} cases × 4 persisted transitions, SQLite file, "
          f"{REPS} interleaved repetitions")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.python_implementation()} "
          f"{platform.python_version()}, SQLite {__import__('sqlite3').sqlite_version}; "
          f"date {dt.date.today()}; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"project venv: {versions(PROJECT_PY)}\npeers venv:   {versions(PEERS_PY)}")
    results: dict[str, list[dict]] = {s[0]: [] for s in SIDES}
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(REPS):
            order = SIDES[rep % len(SIDES):] + SIDES[:rep % len(SIDES)]  # rotated
            for i, (name, python, script, extra) in enumerate(order):
                result = run(name, python, script, extra, Path(tmp) / f"r{rep}-{i}.db")
                results[name].append(result)
                print(f"  rep {rep + 1}: {name:<26} {result['transitions_per_s']:>9,.0f} tr/s "
                      f"{result['peak_rss_mb']:>6.1f} MB", flush=True)
    print(f"\n{'side':<26} {'transitions/s, median (range)':>30} {'peak RSS MB':>22} "
          f"{'(VmHWM)':>8}  journal_mode/synchronous/foreign_keys")
    for name, *_ in SIDES:
        rows = results[name]
        p = rows[0]["pragmas"]
        assert all(r["pragmas"] == p for r in rows)
        print(f"{name:<26} {spread([r['transitions_per_s'] for r in rows]):>30} "
              f"{spread([r['peak_rss_mb'] for r in rows], '.1f'):>22} "
              f"{statistics.median(r['vm_hwm_mb'] or 0 for r in rows):>8.1f}  "
              f"{p['journal_mode']}/{p['synchronous']}/{p['foreign_keys']}")
    print(f"(driver's own peak RSS, the floor of the children's: "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MB)")

    def rate(name: str, rep: int) -> float:
        return results[name][rep]["transitions_per_s"]

    fastest = [max(rate(p, rep) for p in PEER_NAMES) for rep in range(REPS)]
    which = {max(PEER_NAMES, key=lambda p, rep=rep: rate(p, rep)) for rep in range(REPS)}
    print(f"\nfastest peer in each repetition: {', '.join(sorted(which))}")
    print("| measure | now | goal | met/missed |")
    for engine in (ENGINE_DEFAULT, ENGINE_DROPPED):
        vs_peer = [rate(engine, rep) / fastest[rep] for rep in range(REPS)]
        goal_row(f"{engine} / fastest peer", vs_peer, 1.0, engine == ENGINE_DEFAULT)
        if engine == ENGINE_DEFAULT:
            for peer in ORM_PEERS:
                goal_row(f"{engine} / {peer}",
                         [rate(engine, rep) / rate(peer, rep) for rep in range(REPS)], 2.0, True)
        goal_row(f"{engine} / bare loop",
                 [rate(engine, rep) / rate(BARE, rep) for rep in range(REPS)], None, False)


def goal_row(measure: str, ratios: list[float], goal: float | None, judged: bool) -> None:
    """``measure | now | goal | met/missed`` (a ratio without a goal is reported only)."""
    med = statistics.median(ratios)
    if goal is None or not judged:
        verdict, goal_text = "(report)", "—" if goal is None else f"(≥ {goal:g})"
    else:
        verdict = "met" if med >= goal else f"missed by {(goal - med) / goal:.0%}"
        goal_text = f"≥ {goal:g}"
    print(f"| {measure} | ×{spread(ratios, '.2f')} | {goal_text} | {verdict} |")


if __name__ == "__main__":
    main()
