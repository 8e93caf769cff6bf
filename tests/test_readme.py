"""The README is the front door: every Python and shell block in it runs as written.

A block that is not meant to run (``make demo``, a sketch of the host application's code)
says so in its first line, visibly: ``# not run by tests/test_readme.py: <why>``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import SHIPPED, sqlite_only

from workflow import Engine
from workflow.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
NOT_RUN = "# not run by tests/test_readme.py:"
_BLOCK = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.S | re.M)


def blocks(language: str, *, runnable: bool = True) -> list[str]:
    found = [body for lang, body in _BLOCK.findall(README) if lang == language]
    return [b for b in found if b.startswith(NOT_RUN) != runnable]


def test_every_block_left_out_says_why_and_the_others_are_many():
    """Only the blocks marked in their first line are left out; each marker gives a reason."""
    left_out = blocks("python", runnable=False) + blocks("sh", runnable=False)
    assert all(len(b.splitlines()[0]) > len(NOT_RUN) + 5 for b in left_out)
    assert len(left_out) <= 2
    assert len(blocks("python")) >= 4 and len(blocks("sh")) >= 1


def test_the_python_blocks_run_in_order_in_one_session(tmp_path, monkeypatch):
    """As a newcomer pastes them into one Python session (they name their SQLite file)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SSTRANSFER_DATABASE_URL", raising=False)
    monkeypatch.delenv("SSTRANSFER_SETTINGS", raising=False)
    monkeypatch.setenv("SSTRANSFER_DEFINITIONS", str(SHIPPED))  # what a newcomer has
    shutil.copy(ROOT / "sstransfer.example.toml", tmp_path)
    session: dict[str, object] = {}
    engines = []
    try:
        for n, block in enumerate(blocks("python"), 1):
            exec(compile(block, f"README.md python block {n}", "exec"), session)
            engines += [v for v in session.values() if isinstance(v, Engine) and v not in engines]
        case, medical, engine = session["case"], session["medical"], session["engine"]
        assert engine.get(case.id).state == "continued"  # what the tour's comments say
        assert str(engine.get(case.id).amount) == "111152.78"
        assert engine.get(case.id).contribution_months == 138
        assert [p.kind for p in engine.papers(case.id)] == [
            "contact_letter", "information_form", "completion_notice"]
        assert "id_card" in engine.get(medical.id).documents
        assert {a.level for a in engine.alerts(case_id=medical.id)} >= {"overdue", "escalated"}
    finally:
        for e in engines:
            e.close()


_LOG_LINE = re.compile(r"\[\s*(debug|info|warning|error)\s*\]")


def test_the_tour_run_as_a_plain_script_prints_no_log_line_unless_the_host_asks(tmp_path):
    """A library prints nothing its host did not ask for: the README's Python blocks run as
    one plain script print no log line on stdout or stderr; the same script that first calls
    ``logging.basicConfig(level=logging.INFO)`` sees sstransfer's events on stderr."""
    shutil.copy(ROOT / "sstransfer.example.toml", tmp_path)
    script = "\n".join(blocks("python"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SSTRANSFER_")}
    env.update(SSTRANSFER_DEFINITIONS=str(SHIPPED), PYTHONPATH=str(ROOT))
    for asked, name in ((False, "plain.py"), (True, "logged.py")):
        prelude = "import logging\nlogging.basicConfig(level=logging.INFO)\n" if asked else ""
        (tmp_path / name).write_text(prelude + script, encoding="utf-8")
        done = subprocess.run([sys.executable, name], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        assert not _LOG_LINE.search(done.stdout)
        assert bool(_LOG_LINE.search(done.stderr)) == asked, done.stderr[-2000:]
        (tmp_path / "tour.db").unlink(missing_ok=True)
        for extra in tmp_path.glob("*.db"):
            extra.unlink()


def test_the_toml_blocks_are_valid_settings(tmp_path):
    """Every TOML block of the README is a valid settings file giving the default settings."""
    for n, block in enumerate(blocks("toml"), 1):
        path = tmp_path / f"block{n}.toml"
        path.write_text(block, encoding="utf-8")
        assert Settings.load(path) == Settings()


@sqlite_only
def test_the_shell_blocks_run_as_written_against_a_temporary_database(db_url, tmp_path):
    """With ``sstransfer`` on the PATH and ``$SSTRANSFER_DATABASE_URL`` set, as the README says."""
    env = {**os.environ, "SSTRANSFER_DATABASE_URL": db_url, "COLUMNS": "200",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("SSTRANSFER_SETTINGS", None)
    env["SSTRANSFER_DEFINITIONS"] = str(SHIPPED)  # what a newcomer has
    for n, block in enumerate(blocks("sh"), 1):
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", block], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"README shell block {n}:\n{done.stdout}\n{done.stderr}"
        assert "Traceback" not in done.stderr
    assert (tmp_path / "overdue.xlsx").stat().st_size > 0
    db = sa.create_engine(db_url)
    try:
        with db.connect() as conn:
            assert conn.scalar(sa.text("SELECT state FROM transfer_case WHERE id = 1")) == "funds_moved"
    finally:
        db.dispose()


@pytest.mark.parametrize("link", sorted(set(re.findall(r"\]\(([^)#:]+)\)", README))))
def test_every_relative_link_of_the_readme_exists(link):
    """Every relative link of the README points to a file or folder of the repository."""
    assert (ROOT / link).exists()
