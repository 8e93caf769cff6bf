"""Where a 1-worker API server's CPU goes under load: a profile, not a benchmark.

Serves the app with uvicorn in this process (as ``sstransfer serve --workers 1`` does) and
profiles, by CPU time per thread (``time.thread_time``), the event loop's thread (HTTP
parsing, middleware, routing, validation, serialization) and the worker threads that run
the routes (the desk and the engine), while ``CLIENTS`` threads of another process fire
``review`` then ``send_letter`` on their own cases as bench_api.py does.

Usage: ``python profile_api.py [CLIENTS] [CASES_PER_CLIENT]`` (default 16 25); needs
$SSTRANSFER_BENCH_POSTGRES_URL like bench_api.py (its tables are dropped and made anew).
Prints each side's CPU and its 25 costliest functions; the stats are kept in $TMPDIR.
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import os
import pstats
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import anyio.to_thread
import bench_api as b
import uvicorn

from workflow import Engine
from workflow.api import create_app

CLIENTS = sys.argv[1] if len(sys.argv) > 1 else "16"
PER_CLIENT = sys.argv[2] if len(sys.argv) > 2 else "25"
OUT = Path(os.environ.get("TMPDIR", "/tmp"))

_CLIENT = """
import json, sys, threading, httpx
given = json.loads(sys.argv[1])
def work(cases):
    with httpx.Client(base_url=given["base"], timeout=60,
                      headers={"Authorization": "Bearer " + given["token"]}) as http:
        for case in cases:
            for trigger in ("review", "send_letter"):
                r = http.post(f"/api/v1/cases/{case}/fire", json={"trigger": trigger, "on": "2025-10-09"})
                assert r.status_code == 200, r.text
threads = [threading.Thread(target=work, args=(share,)) for share in given["shares"]]
for t in threads: t.start()
for t in threads: t.join()
"""

workers: list[cProfile.Profile] = []
_local = threading.local()
_run_sync = anyio.to_thread.run_sync


async def _profiled_run_sync(func: Any, *args: Any, **kwargs: Any) -> Any:
    """anyio's run_sync with the function profiled in its worker thread."""
    def call(*given: Any) -> Any:
        profile = getattr(_local, "profile", None)
        if profile is None:
            profile = _local.profile = cProfile.Profile(time.thread_time)
            workers.append(profile)
        profile.enable()
        try:
            return func(*given)
        finally:
            profile.disable()
    return await _run_sync(call, *args, **kwargs)


def main() -> None:
    anyio.to_thread.run_sync = _profiled_run_sync  # type: ignore[assignment]
    b.fresh_database()
    with Engine(b.url()) as engine:
        token, _ = engine.access_service.create_token("bench-clerk", "clerk", b.AGENCY)
        shares = b.open_cases(engine)
        port = b.free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(engine), host="127.0.0.1", port=port,
                                               log_level="warning", access_log=False))
        loop = cProfile.Profile(time.thread_time)
        requests = sum(len(s) for s in shares) * len(b.STEPS)

        def drive() -> None:
            while not server.started:
                time.sleep(0.05)
            given = {"base": f"http://127.0.0.1:{port}", "token": token, "shares": shares}
            began = time.perf_counter()
            subprocess.run([sys.executable, "-c", _CLIENT, json.dumps(given)], check=True)
            print(f"{requests} requests in {time.perf_counter() - began:.1f} s (profiled)")
            server.should_exit = True

        async def serve() -> None:
            loop.enable()
            await server.serve()
            loop.disable()

        threading.Thread(target=drive).start()
        asyncio.run(serve())
    merged = pstats.Stats(workers[0])
    for profile in workers[1:]:
        merged.add(profile)
    for name, stats in (("event loop thread", pstats.Stats(loop)), ("route threads", merged)):
        path = OUT / f"profile_api-{name.split()[0]}.prof"
        stats.dump_stats(path)
        print(f"\n## {name}: {stats.total_tt / requests * 1e3:.2f} ms CPU per request "  # type: ignore[attr-defined]
              f"(profiled); stats in {path}")
        stats.sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
