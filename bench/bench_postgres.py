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
import time

import sqlalchemy as sa
from common import DOCS, figure, goal_row, header, people, timed

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
            definition="pension_transfer", person_id=person, person_name="张三",
            origin="310000", destination="440300", applicant="employer", documents=DOCS,
            on=dt.date(2025, 9, 26)) for person in people(n)], actor=CLERK)


def worker(case_ids, barrier, out):
    import common  # noqa: F401  (quiet logs in the child too)

    with Engine(url()) as engine:
        barrier.wait()
        cpu = time.process_time()
        done = conflicts = 0
        for case_id in case_ids:
            while True:
                try:
                    engine.attach_documents(case_id, ["id_card"], actor=CLERK, on=D)
                    done += 1
                    break
                except ConcurrentUpdate:
                    conflicts += 1
        out.put((done, conflicts, time.process_time() - cpu))


def run(workers: int, hot: bool) -> tuple[float, int, float]:
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
    done = sum(d for d, _, _ in results)
    # The client's CPU time per step (all workers), for the client/server split of issue 9.
    return done / t["seconds"], sum(c for _, c, _ in results), sum(u for _, _, u in results) / done


def main() -> None:
    header(f"6. PostgreSQL transitions, {PER_WORKER:,} per worker")
    base, _, client = run(1, hot=False)
    figure("1 worker, distinct cases (baseline)", base, "transitions/s")
    rest = 1 / base - client
    goal_row("PostgreSQL, 1 worker, distinct cases", f"{base:,.0f} tr/s", ">= 1,200 tr/s",
             base >= 1200, f"{(1200 - base) / 1200:.0%}")
    goal_row("1 worker, client CPU / the rest (server, wire) per step",
             f"{client * 1e3:.2f} / {rest * 1e3:.2f} ms = {client / rest:.2f}", "<= 1",
             client <= rest, f"{(client - rest) / rest:.0%}")
    for workers in (2, 4):
        rate, _, _ = run(workers, hot=False)
        figure(f"{workers} workers, distinct cases", rate, "transitions/s", baseline=base)
    for workers in (1, 2, 4):
        rate, conflicts, _ = run(workers, hot=True)
        figure(f"{workers} worker(s), hot set of {HOT} cases ({conflicts:,} conflicts retried)",
               rate, "transitions/s", baseline=base)


if __name__ == "__main__":
    main()
