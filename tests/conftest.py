"""Shared fixtures: a fresh engine on a SQLite file, actors, and a database snapshot."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import io
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa
import structlog

from workflow import Actor, Engine
from workflow.loading import shipped_definitions_dir
from workflow.store import TABLES

#: The definitions as they ship (with the versions whose steps issue papers).
SHIPPED = Path(__file__).resolve().parent.parent / "definitions"
#: The versions whose steps issue papers (the information form's data as move_funds' input).
PAPER_VERSIONS = ("pension_transfer.v2.yaml", "medical_transfer.v3.yaml")


def _before_papers() -> Path:
    """The suite's default definitions: the shipped ones without the papers' versions, so the
    tests written for the versions before them keep pinning those (cases opened on them keep
    running on them); tests of the papers (tests/test_papers.py) use :data:`SHIPPED`."""
    import tempfile

    target = Path(tempfile.mkdtemp(prefix="sstransfer-defs-")) / "definitions"
    shutil.copytree(SHIPPED, target)
    for name in PAPER_VERSIONS:
        (target / name).unlink()
    return target


# Every engine, DefinitionSet and CLI process of the suite reads this folder by default.
os.environ["SSTRANSFER_DEFINITIONS"] = str(_before_papers())
# The calendar keeps the holidays package's days in a folder of the run, not the user's cache.
os.environ["SSTRANSFER_CACHE_DIR"] = tempfile.mkdtemp(prefix="sstransfer-cache-")

# Log events are made at every level during tests (tests that read them use
# structlog.testing.capture_logs) and shown nowhere.
logging.getLogger("sstransfer").setLevel(logging.DEBUG)
logging.getLogger("sstransfer").propagate = False

PERSON_ID = "11010519491231002X"
OTHER_PERSON_ID = "110108198001010015"
ORIGIN, DESTINATION = "310000", "440300"
RECEIVED = dt.date(2025, 9, 26)
APPLICANT = Actor(id="hr-7", role="employer")
DEST_CLERK = Actor(id="c-12", role="destination_clerk", agency=DESTINATION)
ORIGIN_CLERK = Actor(id="o-3", role="origin_clerk", agency=ORIGIN)
MANUAL = {"pension_transfer": "endowment_manual", "medical_transfer": "medical_insurance_card"}


def full_documents(definition: str) -> list[str]:
    return ["application_form", "id_card", "payment_voucher", MANUAL[definition],
            "employment_certificate"]


@pytest.fixture
def definitions_dir(tmp_path: Path) -> Path:
    """A private copy of the shipped definitions that a test may edit."""
    target = tmp_path / "definitions"
    shutil.copytree(shipped_definitions_dir(), target)
    return target


#: The longest tests (real processes, browsers, servers; 7 s and more each on CI), by name:
#: run first, so that with two workers neither is left with a long one at the end.
LONGEST_FIRST = frozenset({
    "test_a_bulk_import_killed_by_the_file_size_limit_prints_one_line_and_writes_nothing",
    "test_a_clerk_s_morning_in_a_real_browser",
    "test_a_clerk_works_through_the_dashboard_in_a_real_browser",
    "test_a_database_locked_past_the_lock_timeout_is_refused_as_busy_in_one_line",
    "test_a_deliverer_killed_again_and_again_loses_nothing_and_resends_at_most_once_per_kill",
    "test_a_live_scheduler_takes_over_a_killed_instances_scan_within_a_lease",
    "test_a_read_only_database_is_refused_in_one_line_saying_so",
    "test_a_scan_longer_than_its_lease_keeps_it_and_each_alert_is_delivered_once",
    "test_a_supervisor_s_morning_in_a_real_browser",
    "test_concurrent_duplicates_with_one_key_all_get_the_first_result_and_mismatches_are_refused",
    "test_each_entry_point_exits_0_on_a_good_call_and_1_in_one_line_on_a_refusal",
    "test_numbers_have_no_gap_and_no_duplicate_when_processes_race",
    "test_of_clerks_in_separate_processes_firing_on_one_version_exactly_one_wins",
    "test_processes_firing_on_the_same_cases_apply_each_transition_exactly_once",
    "test_random_use_keeps_every_case_consistent_and_refusals_change_nothing",
    "test_serve_believes_forwarded_addresses_only_from_proxies_the_settings_name",
    "test_serve_with_two_workers_on_a_sqlite_file",
    "test_the_api_docs_work_offline_in_a_real_browser",
    "test_the_import_command_opens_the_cases_of_a_csv_file",
    "test_the_json_of_each_command_parses_with_a_stable_shape",
    "test_the_report_command_writes_the_file",
    "test_the_shell_blocks_run_as_written_against_a_temporary_database",
    "test_the_tour_run_as_a_plain_script_prints_no_log_line_unless_the_host_asks",
    "test_two_scans_racing_in_separate_processes_raise_no_duplicates",
})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: getattr(item, "originalname", item.name) not in LONGEST_FIRST)


@pytest.fixture(autouse=True, scope="session")
def _patient_http_client():
    """httpx's module functions wait 60 s for an answer instead of 5: on a CI machine with two
    busy cores a page can take longer than 5 s, and no test is about the client's patience
    (a test that is passes its own ``timeout``, which still wins)."""
    import httpx

    with pytest.MonkeyPatch.context() as patch:
        for name in ("request", "get", "post", "put", "patch", "delete"):
            patch.setattr(httpx, name, functools.partial(getattr(httpx, name), timeout=60))
        yield


PG_URL_ENV = "SSTRANSFER_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", "postgresql"]


def fresh_database(backend: str, folder: Path, name: str = "") -> str:
    """The URL of an empty database: a new SQLite file, or PostgreSQL with its schema reset.

    On PostgreSQL each pytest-xdist worker has a database of its own (and ``name`` gives a
    fixture that outlives one test, such as a module's, one of its own too)."""
    if backend == "sqlite":
        return f"sqlite:///{folder / 'cases.db'}"
    url = os.environ.get(PG_URL_ENV)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"CI must start PostgreSQL and set {PG_URL_ENV} (see .ci/postgres.sh)")
        pytest.skip(f"PostgreSQL: start one with `bash .ci/postgres.sh` and set {PG_URL_ENV}")
    suffix = "_".join(filter(None, (os.environ.get("PYTEST_XDIST_WORKER"), name)))
    if suffix:
        url = _own_database(url, suffix)
    db = sa.create_engine(url)
    with db.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    db.dispose()
    return url


@functools.cache
def _own_database(url: str, suffix: str) -> str:
    """A database beside the one of ``url``, named with ``suffix``, created if missing."""
    base = sa.engine.make_url(url)
    name = f"{base.database}_{suffix}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path: Path) -> str:
    """Every test that touches the database runs on SQLite and on PostgreSQL."""
    return fresh_database(request.param, tmp_path)


@pytest.fixture(scope="session")
def schema_copy(tmp_path_factory):
    """Puts the newest schema into a test's new SQLite file by copying a template file made
    once per session: the shipped migrations run on an empty database, as an engine does on
    its first start (which test_schema pins), and nothing else is in it. Copying the file
    takes milliseconds; the migrations take a good part of each engine test's second.

    On PostgreSQL the first database of the session is made by the migrations and dumped
    with ``pg_dump`` (schema and the rows the migrations write, as SQL); each later one runs
    that script in one transaction, about a third of the migrations' time. Without
    ``pg_dump`` on the PATH the engine makes each one itself."""
    from workflow import store

    template = tmp_path_factory.mktemp("schema") / "template.db"
    db = store.connect(f"sqlite:///{template}")
    store.upgrade(db)
    db.dispose()
    assert not Path(f"{template}-wal").exists(), "every page of the template is in its file"
    dumped: dict[str, str] = {}

    def copy(url: str) -> str:
        target = sa.engine.make_url(url)
        if target.get_backend_name() == "sqlite":
            assert target.database and not Path(target.database).exists(), url
            shutil.copyfile(template, target.database)
        elif shutil.which("pg_dump"):
            _postgres_schema(url, dumped)
        return url
    return copy


def _postgres_schema(url: str, dumped: dict[str, str]) -> None:
    """The newest schema in the empty PostgreSQL database of ``url``: migrated and dumped the
    first time, the dump run afterwards."""
    from workflow import store

    if "sql" not in dumped:
        db = store.connect(url)
        store.upgrade(db)
        db.dispose()
        plain = sa.engine.make_url(url).set(drivername="postgresql")
        out = subprocess.run(
            ["pg_dump", "--no-owner", "--no-privileges", "--inserts",
             plain.render_as_string(hide_password=False)],
            capture_output=True, text=True, check=True)
        # psql's own commands (\restrict) are not SQL; the dump's search_path of '' stays
        # in the one connection that runs it.
        dumped["sql"] = "\n".join(line for line in out.stdout.splitlines()
                                   if not line.startswith("\\"))
        return
    db = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with db.begin() as conn:
        conn.exec_driver_sql(dumped["sql"])
    db.dispose()


#: For a test of what the command line does with text (markup, dates, digits as typed), which
#: no database changes: it runs on SQLite only.
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


MEDICAL_V2_FILE = "medical_transfer.v2.yaml"


def letter_process_definitions(folder: Path) -> Path:
    """A copy of the shipped definitions as they were before medical insurance's 2021 version:
    both insurances follow the contact-letter process (medical_transfer version 1)."""
    target = folder / "definitions-letter-process"
    if not target.is_dir():
        shutil.copytree(shipped_definitions_dir(), target)
        (target / MEDICAL_V2_FILE).unlink()
    return target


@pytest.fixture
def engine(db_url: str, schema_copy, request, tmp_path: Path):
    """An engine on the shipped definitions. A test parametrized by ``definition`` pins the
    contact-letter process both insurances shared before 2021: its medical cases run on
    medical_transfer version 1 (medical version 2 has tests of its own)."""
    folder = None
    if "definition" in request.fixturenames \
            and request.getfixturevalue("definition") == "medical_transfer":
        folder = letter_process_definitions(tmp_path)
    with Engine(schema_copy(db_url), definitions=folder) as e:
        yield e


@pytest.fixture
def letter_engine(db_url: str, schema_copy, tmp_path: Path):
    """An engine whose medical cases run on version 1 (the contact-letter process)."""
    with Engine(schema_copy(db_url), definitions=letter_process_definitions(tmp_path)) as e:
        yield e


@pytest.fixture(params=["pension_transfer", "medical_transfer"])
def definition(request) -> str:
    return request.param


SCHEMES = {"origin_scheme": "urban_employee", "destination_scheme": "urban_employee"}


def open_case(engine: Engine, definition: str = "pension_transfer", **overrides):
    """A complete application of 张三 (PERSON_ID) opened; while PERSON_ID's transfer of that
    insurance is running (one running transfer per person and insurance), of a new person
    unless ``person_id`` is given."""
    args = dict(person_id=overrides.get("person_id") or _next_person(engine, definition),
                person_name="张三", origin=ORIGIN, destination=DESTINATION,
                applicant="employer", channel="counter", documents=full_documents(definition),
                actor=APPLICANT, on=RECEIVED)
    if engine.definition(definition).schemes:
        args.update(SCHEMES)
    args.update(overrides)
    return engine.open_case(definition, **args)


def _next_person(engine: Engine, definition: str) -> str:
    from workflow.testing import valid_person_id

    insurance = engine.definition(definition).insurance
    running = engine.case_service.store.running_cases
    seed = 200
    person = PERSON_ID
    while running([(person, insurance)]):
        seed += 1
        person = valid_person_id(seed=seed)
    return person


def snapshot(engine: Engine) -> dict[str, list[tuple]]:
    """Every row of every engine table, to show that a refused call wrote nothing."""
    with engine.db.connect() as conn:
        return {t.name: sorted(map(tuple, conn.execute(sa.select(t))), key=repr) for t in TABLES}


def refused(engine: Engine, error: type[Exception], call, *args, **kwargs) -> Exception:
    """Run a call that must be refused with ``error``; prove the database is unchanged."""
    before = snapshot(engine)
    with pytest.raises(error) as info:
        call(*args, **kwargs)
    assert snapshot(engine) == before
    return info.value


def call_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``sstransfer ARGS`` called in this process, as a user's shell runs it: ``env`` added to
    the environment, in the folder ``cwd``, its output and exit code captured.

    What a call may change is put back afterwards, so no state leaks into the next call or
    test: the environment (``serve`` hands settings to its workers there), the working
    folder, ``sys.argv``, structlog's configuration (the CLI points it at its stderr) and the
    root logger's handlers and level. An exception :func:`workflow.cli.main` lets through is
    a traceback a user would see: it fails the test as it is raised."""
    from workflow.cli import main

    saved_env, saved_argv = dict(os.environ), sys.argv
    saved_log = structlog.get_config()
    root, ours = logging.getLogger(), logging.getLogger("sstransfer")
    saved_handlers, saved_level = root.handlers[:], root.level
    saved_ours = ours.handlers[:], ours.level, ours.propagate
    stdout, stderr = io.StringIO(), io.StringIO()
    os.environ.update(env)
    sys.argv = ["sstransfer", *args]
    code = 0
    try:
        with contextlib.chdir(cwd), contextlib.redirect_stdout(stdout), \
                contextlib.redirect_stderr(stderr):
            main()
    except SystemExit as exc:  # main() always ends with one
        code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        sys.argv = saved_argv
        structlog.configure(**saved_log)
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        ours.handlers[:], ours.level, ours.propagate = saved_ours
    return subprocess.CompletedProcess(["sstransfer", *args], code, stdout.getvalue(),
                                       stderr.getvalue())


@pytest.fixture
def run(db_url: str, tmp_path: Path):
    """The ``sstransfer`` command line as a user runs it, on the test's database, in the test's
    folder (called in this process: tests/test_cli.py starts real ones); a refusal must be one
    line on stderr, never a traceback."""
    def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = call_cli(*args, env={"SSTRANSFER_DATABASE_URL": db_url, "COLUMNS": "200"},
                        cwd=tmp_path)
        assert (done.returncode == 0) is ok, done.stdout + done.stderr
        if not ok:
            assert "Traceback" not in done.stderr and done.stderr.strip().count("\n") == 0
        return done
    return run
