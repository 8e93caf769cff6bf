"""6. PostgreSQL: transitions per second with 1, 2 and 4 worker processes.

Distinct cases: each worker attaches documents to its own cases. Hot set: every worker
attaches to the same 20 cases, retrying on ConcurrentUpdate (conflicts counted). The
baseline is one worker on distinct cases. Needs $SSTRANSFER_BENCH_POSTGRES_URL (or
$SSTRANSFER_TEST_POSTGRES_URL); `bash .ci/postgres.sh` starts a server and prints one.
The database's tables are dropped and made anew.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import sys

import sqlalchemy as sa
from common import DOCS, figure, header, timed

from workflow import Actor, ConcurrentUpdate, Engine

PER_WORKER = int(sys.argv[1]) if len(sys.argv) > 1 else 1500
CLERK = Actor("c-1", "destination_clerk", "440300")
D = dt.date(2025, 10, 9)
HOT = 20


def url() -> str:
    found = os.environ.get("SSTRANSFER_BENCH_POSTGRES_URL") or os.environ.get(
        "SSTRANSFER_TEST_POSTGRES_URL")
    if not found:
        sys.exit("set SSTRANSFER_BENCH_POSTGRES_URL (bash .ci/postgres.sh starts a server)")
    return found


def fresh(n: int) -> list[int]:
    db = sa.create_engine(url())
    with db.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    db.dispose()
    with Engine(url()) as engine:
        return engine.open_cases([dict(
            definition="pension_transfer", person_id="11010519491231002X", person_name="张三",
            origin="310000", destination="440300", applicant="employer", documents=DOCS,
            on=dt.date(2025, 9, 26)) for _ in range(n)], actor=CLERK)


def worker(case_ids, barrier, out):
    import time

    import common  # noqa: F401  (quiet logs in the child too)

    with Engine(url()) as engine:
        barrier.wait()
        done = conflicts = 0
        cpu, wall = time.process_time(), time.perf_counter()
        for case_id in case_ids:
            while True:
                try:
                    engine.attach_documents(case_id, ["id_card"], actor=CLERK, on=D)
                    done += 1
                    break
                except ConcurrentUpdate:
                    conflicts += 1
        out.put((done, conflicts, time.process_time() - cpu, time.perf_counter() - wall))


def run(workers: int, hot: bool) -> tuple[float, int, float]:
    """Transitions per second, conflicts retried, and the share of a step's time the client
    spent on its own CPU (the rest is the server's and the round trips')."""
    ids = fresh(HOT if hot else PER_WORKER * workers)
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(workers + 1), ctx.Queue()
    shares = [(ids * (PER_WORKER // HOT))[:PER_WORKER] if hot
              else ids[w * PER_WORKER:(w + 1) * PER_WORKER] for w in range(workers)]
    procs = [ctx.Process(target=worker, args=(shares[w], barrier, out)) for w in range(workers)]
    for p in procs:
        p.start()
    barrier.wait()
    with timed() as t:
        results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    client = sum(r[2] for r in results) / sum(r[3] for r in results)
    return sum(r[0] for r in results) / t["seconds"], sum(r[1] for r in results), client


def main() -> None:
    header(f"6. PostgreSQL transitions, {PER_WORKER:,} per worker")
    base, _, client = run(1, hot=False)
    figure("1 worker, distinct cases (baseline)", base, "transitions/s",
           target="goal: ≥ 1,200 /s")
    step = 1000 / base
    print(f"  one step: {step:.2f} ms, of which the client's own CPU {step * client:.2f} ms and "
          f"the server with the round trips {step * (1 - client):.2f} ms; goal: client ≤ server "
          f"({'met' if client <= 0.5 else 'missed'})")
    for workers in (2, 4):
        rate, _, _ = run(workers, hot=False)
        figure(f"{workers} workers, distinct cases", rate, "transitions/s", baseline=base)
    for workers in (1, 2, 4):
        rate, conflicts, _ = run(workers, hot=True)
        figure(f"{workers} worker(s), hot set of {HOT} cases ({conflicts:,} conflicts retried)",
               rate, "transitions/s", baseline=base)


if __name__ == "__main__":
    main()
