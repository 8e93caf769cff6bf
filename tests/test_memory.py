"""A process that only opens cases and fires steps imports only what it uses (issue 22: peak
memory after 1,000 cases and 4,000 steps; bench/bench_memory.py measures it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: What such a process does without, and why each was imported before.
NOT_IMPORTED = {
    "alembic": "a new database's schema is made from the tables, Alembic only upgrades",
    "mako": "Alembic's templates",
    "holidays": "the calendar takes the package's days from its cache (second start)",
    "structlog": "imported with the first event a logger would emit (none here)",
    "rich": "structlog imports it",
    "sqlalchemy.dialects.postgresql": "the partial indexes' PostgreSQL WHERE on SQLite",
}

STEPS = """
import sys
import datetime as dt
from workflow import Actor, Engine
engine = Engine(sys.argv[1])
clerk = Actor("c-12", "destination_clerk", "440300")
case_id = engine.open_case(
    "pension_transfer", person_id="11010519491231002X", person_name="张三", origin="310000",
    destination="440300", applicant="employer", channel="counter", actor=clerk,
    documents=["application_form", "id_card", "payment_voucher", "endowment_manual",
               "employment_certificate"], on=dt.date(2025, 9, 26)).id
assert engine.fire(case_id, "review", actor=clerk, on=dt.date(2025, 9, 29)).state == "reviewed"
engine.close()
import json
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {"alembic", "mako", "holidays",
      "structlog", "rich"} or m.startswith("sqlalchemy.dialects.postgresql"))))
"""


def _run(url: str, cache: Path) -> list[str]:
    env = {**os.environ, "SSTRANSFER_CACHE_DIR": str(cache)}
    done = subprocess.run([sys.executable, "-c", STEPS, url], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env=env)
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


def test_a_process_opening_and_firing_on_a_new_sqlite_file_imports_only_what_it_uses(tmp_path):
    """A fresh process that starts an engine on a new SQLite file, opens a case and fires a
    step, with no log event shown, imports none of Alembic, the holidays package (its days
    are in the cache made by the machine's first start), structlog and Rich, or SQLAlchemy's
    PostgreSQL dialect. Checked in fresh interpreters, since this one has them all."""
    cache = tmp_path / "cache"
    first = _run(f"sqlite:///{tmp_path / 'first.db'}", cache)
    assert [m for m in first if m.split(".")[0] != "holidays"] == []
    assert "holidays" in first  # the first start computes the days with the package
    assert _run(f"sqlite:///{tmp_path / 'second.db'}", cache) == []
