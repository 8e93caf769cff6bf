"""The ``sstransfer`` command line, called as a user's shell calls it: in this process by the
``run`` fixture (tests/conftest.py), and in real processes by the smoke tests at the end."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import PERSON_ID, open_case, snapshot, sqlite_only

from workflow import Engine, store
from workflow.testing import valid_person_id

EMPLOYER = ["--actor", "hr-7", "--role", "employer"]
CLERK = ["--actor", "c-12", "--role", "destination_clerk", "--agency", "440300"]
#: Another person than PERSON_ID's (one running transfer per person and insurance).
SOMEONE = valid_person_id(seed=41)


def open_args(*docs: str) -> list[str]:
    args = ["open", "pension_transfer", "--person-id", PERSON_ID, "--person-name", "张三",
            "--origin", "310000", "--destination", "440300", "--applicant", "employer",
            "--on", "2025-09-26", *EMPLOYER, "--json"]
    for d in docs:
        args += ["-d", d]
    return args


FULL = ("application_form", "id_card", "payment_voucher", "endowment_manual",
        "employment_certificate")


def test_a_case_is_opened_fired_and_read_from_the_command_line(run, db_url):
    """A case opened, reviewed and read from the command line has the API's state, history and due
    date, and shows its ID number only masked."""
    case = json.loads(run(*open_args(*FULL)).stdout)
    assert case["state"] == "applied" and case["person_id_masked"] == "110105********002X"
    assert "person_id" not in case
    fired = json.loads(run("fire", str(case["id"]), "review", *CLERK, "--on", "2025-10-09",
                           "--json").stdout)
    assert fired["state"] == "reviewed" and fired["version"] == 2
    shown = json.loads(run("show", str(case["id"]), "--json").stdout)
    assert shown["spans"][0]["due_on"] == "2025-10-23"
    history = json.loads(run("history", str(case["id"]), "--json").stdout)
    assert [h["trigger"] for h in history] == ["open", "review"]
    listed = json.loads(run("list", "--state", "reviewed", "--json").stdout)
    assert [c["id"] for c in listed] == [case["id"]]
    table = run("list").stdout
    assert "110105********002X" in table and PERSON_ID not in table
    with Engine(db_url) as engine:
        assert engine.get(case["id"]).state == "reviewed"


def test_money_and_documents_from_the_command_line(run):
    """The command line moves the funds with the information form (-d) and an exact amount
    (--amount 12345.60 is stored as 12345.60)."""
    case = json.loads(run(*open_args(*FULL)).stdout)
    cid = str(case["id"])
    run("fire", cid, "review", *CLERK, "--on", "2025-10-09")
    run("fire", cid, "send_letter", *CLERK, "--on", "2025-10-10")
    moved = json.loads(run("fire", cid, "move_funds", "--actor", "o-1", "--role", "origin_clerk",
                           "--agency", "310000", "--on", "2025-10-20", "-d", "information_form",
                           "--amount", "12345.60", "--json").stdout)
    assert moved["amount"] == "12345.60"


def test_a_refusal_prints_one_line_and_exits_non_zero_writing_nothing(run, db_url):
    """A step refused by the engine (review without the payment voucher) exits 1 with one
    line on stderr naming what is missing, never a traceback, and writes nothing."""
    case = json.loads(run(*open_args("application_form")).stdout)
    with Engine(db_url) as engine:
        before = snapshot(engine)
    done = run("fire", str(case["id"]), "review", *CLERK, "--on", "2025-10-09", ok=False)
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0
    assert "error:" in done.stderr and "payment_voucher" in done.stderr
    assert "Traceback" not in done.stderr
    with Engine(db_url) as engine:
        assert snapshot(engine) == before


@pytest.mark.parametrize("args, words", [
    (["fire", "42", "review", *CLERK, "--on", "2025-10-09"], "case 42 does not exist"),
    (["show", "1"], "case 1 does not exist"),
    (["fire", "1", "review", *CLERK, "--on", "09/10/2025"], "YYYY-MM-DD"),
    (["open", "pension_transfer", "--person-id", "123", "--person-name", "x", "--origin",
      "310000", "--destination", "440300", "--applicant", "employer", *EMPLOYER],
     "not a valid resident ID number"),
])
def test_errors_are_one_clear_line(run, db_url, args, words):
    """A missing case, a date not typed as YYYY-MM-DD and an invalid ID number are each one
    line on stderr saying what is wrong."""
    Engine(db_url).close()  # the database exists (a read command refuses a missing file)
    done = run(*args, ok=False)
    assert words in done.stderr and "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0


@sqlite_only
def test_the_calendar_commands(run):
    """`calendar due` gives the due date (provisional in a year with no published schedule);
    `calendar is-workday` exits 1 on a holiday."""
    assert "2025-10-23" in run("calendar", "due", "2025-09-26", "--days", "15").stdout
    due = json.loads(run("calendar", "due", "2026-12-31", "--json").stdout)
    assert due["provisional"] is True
    assert "is a working day" in run("calendar", "is-workday", "2025-10-11").stdout
    holiday = run("calendar", "is-workday", "2025-10-08", ok=False)
    assert holiday.returncode == 1 and "not a working day" in holiday.stdout


def test_the_definitions_commands(run, tmp_path, definitions_dir):
    """`definitions validate` checks every definition and names the file and line of an invalid
    one; `definitions diagram` draws a version's graph."""
    assert run("definitions", "validate").stdout.count("ok  ") == 4
    assert "letter_sent --> funds_moved: move_funds" in run(
        "definitions", "diagram", "medical_transfer", "--version", "1").stdout
    assert "reviewed --> funds_moved: move_funds" in run(
        "definitions", "diagram", "medical_transfer").stdout
    bad = definitions_dir / "medical_transfer.yaml"
    bad.write_text(bad.read_text(encoding="utf-8").replace("dest: continued", "dest: done"),
                   encoding="utf-8")
    done = run("definitions", "validate", str(definitions_dir), ok=False)
    assert "medical_transfer.yaml, line" in done.stderr and "unknown state 'done'" in done.stderr


def test_the_demo_builds_a_database_scans_it_and_writes_the_reports(run, tmp_path):
    """`demo` builds 300 cases of both insurances (one on the paper-exchange example), scans
    them as of 2026-11-20, prints its
    summary without log lines, and writes the overdue report in HTML, XLSX and CSV (in
    Chinese, with committed due dates no later than the statutory ones)."""
    done = run("demo", "--folder", str(tmp_path / "out"))  # as `make demo` runs it
    assert "cases by state" in done.stdout and "alerts raised by the scan as of 2026-11-20" in done.stdout
    assert done.stderr == "", "the summary comes without a flood of log lines"
    for fmt in ("html", "xlsx", "csv"):
        assert (tmp_path / "out" / "reports" / f"overdue-2026-11-20.{fmt}").stat().st_size > 0
    with Engine(f"sqlite:///{tmp_path / 'out' / 'sstransfer-demo.db'}") as engine:
        cases = engine.cases()
        assert len(cases) == 300
        # and one case on the example of a paper exchange, its letter never recorded as
        # received: an in_transit alert
        assert {c.definition for c in cases} == {"pension_transfer", "medical_transfer",
                                                 "pension_transfer_paper"}
        assert f"{len(cases)} cases" in done.stdout
        assert engine.alerts(), "the demo scan raised alerts"
        assert [a.subject for a in engine.alerts(level="in_transit")] == ["letter_in_transit"]
        medical_v2 = {c.id for c in cases if (c.definition, c.definition_version)
                      == ("medical_transfer", 2)}
    assert "overdue spans with a committed limit" in done.stdout
    with (tmp_path / "out" / "reports" / "overdue-2026-11-20.csv").open(encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    both = [r for r in rows if int(r["案件编号"]) in medical_v2 and r["承诺办结日期"]]
    assert both, "the report (in Chinese) shows medical v2 spans with a committed due date"
    assert all(r["承诺办结日期"] <= r["法定办结日期"] for r in both)


def test_the_demo_prints_the_command_that_serves_its_database_with_working_demo_tokens(run, tmp_path):
    """`make demo` starts nothing long-running; it prints one serve command and ready-made
    tokens for a clerk and a supervisor, which the demo database accepts."""
    done = run("demo", "--folder", str(tmp_path / "out"), "--cases", "20")
    serve = [line for line in done.stdout.splitlines() if line.rstrip().endswith(" serve")]
    assert len(serve) == 1 and "sstransfer-demo.db" in serve[0]
    tokens = re.findall(r"^  (\w+) of (\d{6}) \S+: (\S+)$", done.stdout, re.MULTILINE)
    assert {role for role, _, _ in tokens} == {"supervisor", "clerk"}
    with Engine(f"sqlite:///{tmp_path / 'out' / 'sstransfer-demo.db'}") as engine:
        for role, agency, token in tokens:
            principal = engine.access_service.authenticate(token)
            assert (principal.role, principal.agency) == (role, agency)


def test_the_overdue_report_is_chinese_unless_lang_en_is_given(run, db_url, tmp_path):
    """`report overdue` writes Chinese by default and English with `--lang en`; another
    language is refused in one line before anything is written."""
    with Engine(db_url) as engine:
        open_case(engine)
    for lang, first in ((None, "经办机构"), ("en", "owner agency")):
        out = tmp_path / f"r-{lang}.csv"
        run("report", "overdue", "--as-of", "2025-11-20", "--format", "csv", "--out", str(out),
            *(["--lang", lang] if lang else []))
        with out.open(encoding="utf-8-sig") as f:
            header, row = list(csv.reader(f))
        assert header[0] == first and row[0] == "440300 深圳市"
    done = run("report", "overdue", "--as-of", "2025-11-20", "--out", str(tmp_path / "x.html"),
               "--lang", "fr", ok=False)
    assert "Invalid value for '--lang': 'fr' is not one of 'zh', 'en'" in done.stderr
    assert not (tmp_path / "x.html").exists()


def test_the_report_takes_its_format_from_the_file_name_and_a_folder_gets_the_default_name(
        run, db_url, tmp_path):
    """`report overdue --out x.xlsx` writes a spreadsheet (never HTML in a .xlsx), `--out
    DIR/` writes overdue-<as-of>.html there (or the `--format` given); a name whose suffix says
    no format, or another one than `--format`, is refused before anything is written."""
    with Engine(db_url) as engine:
        open_case(engine)
    run("report", "overdue", "--as-of", "2025-11-20", "--out", str(tmp_path / "x.xlsx"))
    assert (tmp_path / "x.xlsx").read_bytes()[:2] == b"PK"  # a zip: an XLSX workbook
    run("report", "overdue", "--as-of", "2025-11-20", "--out", str(tmp_path / "y.CSV"))
    assert "经办机构" in (tmp_path / "y.CSV").read_text(encoding="utf-8-sig")
    (tmp_path / "dir").mkdir()
    run("report", "overdue", "--as-of", "2025-11-20", "--out", f"{tmp_path / 'dir'}/")
    run("report", "overdue", "--as-of", "2025-11-20", "--format", "csv",
        "--out", str(tmp_path / "dir"))
    assert sorted(p.name for p in (tmp_path / "dir").iterdir()) == [
        "overdue-2025-11-20.csv", "overdue-2025-11-20.html"]
    assert "<!DOCTYPE html>" in (tmp_path / "dir" / "overdue-2025-11-20.html").read_text()
    for args, says in ((["--out", str(tmp_path / "z.txt")], "cannot tell the report format"),
                       (["--format", "csv", "--out", str(tmp_path / "z.xlsx")], "does not match"),
                       (["--out", f"{tmp_path / 'nowhere'}/"], "does not exist")):
        done = run("report", "overdue", "--as-of", "2025-11-20", *args, ok=False)
        assert says in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "z.txt").exists() and not (tmp_path / "z.xlsx").exists()


def test_a_medical_case_since_2021_is_opened_with_its_schemes_from_the_command_line(run, tmp_path):
    """`open` takes --origin-scheme/--destination-scheme; an import's empty scheme cells (the
    pension rows) mean none. The spans table shows committed and statutory due dates."""
    medical = ["open", "medical_transfer", "--person-id", PERSON_ID, "--person-name", "张三",
               "--origin", "310000", "--destination", "440300", "--applicant", "employer",
               "--on", "2025-09-26", *EMPLOYER, "-d", "application_form", "-d", "id_card",
               "--origin-scheme", "urban_employee", "--destination-scheme",
               "urban_rural_resident", "--json"]
    case = json.loads(run(*medical).stdout)
    assert (case["definition_version"], case["destination_scheme"]) == (2, "urban_rural_resident")
    run("fire", str(case["id"]), "review", *CLERK, "--on", "2025-09-29")
    shown = run("show", str(case["id"])).stdout
    assert "committed due" in shown and "statutory due" in shown and "2025-10-20" in shown
    csv_path = tmp_path / "applications.csv"
    csv_path.write_text(  # another person: one running transfer per person and insurance
        "definition,person_id,person_name,origin,destination,applicant,documents,received_on,"
        "origin_scheme,destination_scheme\n"
        f"pension_transfer,{SOMEONE},李四,310000,440300,employer,id_card,2025-09-26,,\n"
        f"medical_transfer,{SOMEONE},李四,310000,440300,employer,id_card,2025-09-26,"
        "urban_employee,urban_employee\n", encoding="utf-8")
    assert "2 case(s) opened" in run("import", str(csv_path), *CLERK).stdout


# --- the error path of every command ----------------------------------------------------------

def _command_paths(group, prefix: str = "") -> set[str]:
    paths = set()
    for name, command in group.commands.items():
        sub = getattr(command, "commands", None)
        paths |= _command_paths(command, f"{prefix}{name} ") if sub else {f"{prefix}{name}"}
    return paths


BAD_INPUT = {  # command: arguments a user might really type, each refused
    "open": ["open", "pension_transfer", "--person-id", "123", "--person-name", "x", "--origin",
             "310000", "--destination", "440300", "--applicant", "employer", *EMPLOYER],
    "fire": ["fire", "1", "move_funds", *CLERK, "--on", "2025-10-09"],
    "attach": ["attach", "42", *EMPLOYER, "-d", "id_card"],
    "correct-date": ["correct-date", "1", "20251009", "--reason", "typo", "--actor", "s-1",
                     "--role", "supervisor", "--agency", "440300"],
    "show": ["show", "42"],
    "history": ["history", "42"],
    "list": ["list", "--state", "letter-sent"],
    "scan": ["scan", "--as-of", "9999-12-31"],
    "alerts": ["alerts", "--level", "overdue,escalated"],
    "demo": ["demo", "--cases", "0"],
    "import": ["import", "no-such-file.csv", *CLERK],
    "definitions validate": ["definitions", "validate", "no-such-folder"],
    "definitions diagram": ["definitions", "diagram", "pension"],
    "calendar due": ["calendar", "due", "2025-02-30"],
    "calendar is-workday": ["calendar", "is-workday", "1900-01-01"],
    "calendar recompute": ["--definitions", "no-such-folder", "calendar", "recompute"],
    "report overdue": ["report", "overdue", "--format", "pdf", "--out", "r.pdf"],
    "papers list": ["papers", "list", "4242"],
    "papers print": ["papers", "print", "99", "--out", "r.pdf"],
    "outbox list": ["outbox", "list", "--state", "lost"],
    "outbox deliver": ["outbox", "deliver", "--settings", "bad.toml"],
    "outbox retry": ["outbox", "retry", "4242"],
    "subscriptions add": ["subscriptions", "add", "--agency", "440300", "--channel", "fax",
                          "--target", "x"],
    "subscriptions list": ["--db", "sqlite:///no-such.db", "subscriptions", "list"],
    "subscriptions remove": ["subscriptions", "remove", "4242"],
    "funds pension": ["funds", "pension", "--period", "1998-13:2000-01:100",
                      "--personal-account", "0"],
    "scheduler run": ["scheduler", "run", "--settings", "bad.toml"],
    "db upgrade": ["db", "upgrade", "deadbeef"],
    "db current": ["--db", "sqlite:///no-such.db", "db", "current"],
    "serve": ["serve", "--port", "70000"],
    "tokens create": ["tokens", "create", "--actor", "c-1", "--role", "clerk"],
    "tokens list": ["--db", "sqlite:///no-such.db", "tokens", "list"],
    "tokens revoke": ["tokens", "revoke", "42"],
}


def test_every_command_has_a_bad_input_case_below():
    """The parametrized test below covers every command of the CLI, new ones included."""
    from typer.main import get_command

    from workflow.cli import app

    assert _command_paths(get_command(app)) == set(BAD_INPUT)


@pytest.mark.parametrize("command", sorted(BAD_INPUT))
def test_every_command_refuses_bad_input_in_one_line_without_a_traceback(run, db_url, tmp_path,
                                                                         command):
    """Given bad input, each command prints one line on stderr, nothing on stdout, exits
    non-zero, and writes nothing to the database."""
    (tmp_path / "bad.toml").write_text("[monitor]\nscan_at = 830\n", encoding="utf-8")
    with Engine(db_url) as engine:
        open_case(engine)
        before = snapshot(engine)
    done = run(*BAD_INPUT[command], ok=False)
    assert "Traceback" not in done.stdout + done.stderr
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
    assert done.stdout == ""
    with Engine(db_url) as engine:
        assert snapshot(engine) == before
    assert not (tmp_path / "no-such.db").exists() and not (tmp_path / "r.pdf").exists()


def test_a_bad_scheduler_option_is_named_as_typed(run, db_url):
    """A bad value of a settings option is named as the user typed it (--scan-at), not as
    the settings key (scan_at)."""
    Engine(db_url).close()
    done = run("scheduler", "run", "--scan-at", "830", ok=False)
    assert done.stderr.startswith('error: --scan-at: must be a time of day in China as "HH:MM"')


def test_a_mistyped_option_is_one_line_naming_the_help_to_read(run):
    """A usage error (a case id that is not a number) exits 2 with one line naming the
    parameter and the command's --help, not typer's multi-line usage box."""
    done = run("fire", "one", "review", *CLERK, ok=False)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "'case_id'" in done.stderr and "fire --help`" in done.stderr


# --- data is shown as typed, never read as Rich markup ----------------------------------------

@sqlite_only
@pytest.mark.parametrize("name", ["[/]", "[bold]张三[/bold]", "[link=http://x]点我[/link]", "a\\"])
def test_a_name_in_rich_markup_is_shown_as_typed_by_list_show_and_history(run, db_url, name):
    """Opening refuses such a name now (one line, the bracket shown as typed); a row stored
    before that rule is still printed as typed by list and show, never as markup, and
    history (which does not print the name) still runs."""
    args = open_args(*FULL)
    args[args.index("--person-name") + 1] = name
    refused = run(*args, ok=False)
    assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
    if "[" in name:
        assert "'['" in refused.stderr
    run(*open_args(*FULL))
    with Engine(db_url) as engine, engine.db.begin() as conn:  # an old row, from before the rule
        conn.execute(sa.update(store.cases_t).values(person_name=name))
    assert name in run("list").stdout
    assert name in run("show", "1").stdout
    assert run("history", "1").returncode == 0


@sqlite_only
def test_an_explanation_in_rich_markup_is_shown_as_typed_in_the_history(run):
    """Free text (a rejection's written explanation) is printed as typed, never as markup."""
    run(*open_args(*FULL))
    run("fire", "1", "reject", *CLERK, "--on", "2025-10-09", "--explanation", "[/]缺少[bold]材料")
    assert "[/]缺少[bold]材料" in run("history", "1").stdout


@sqlite_only
def test_a_document_in_rich_markup_is_shown_as_typed_in_the_refusal(run):
    """An unknown document kind typed as Rich markup is named as typed in the one-line
    refusal."""
    run(*open_args(*FULL))
    done = run("fire", "1", "review", *CLERK, "--on", "2025-10-09", "-d", "[/x]", ok=False)
    assert "[/x]" in done.stderr and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_bracketed_text_stays_in_help_and_in_errors(run, tmp_path):
    """Brackets in help text and in errors ([monitor], a misspelt table) are shown, not
    swallowed as markup."""
    assert "[monitor]" in run("scan", "--help").stdout
    (tmp_path / "s.toml").write_text("[monitr]\nscan_at = '09:00'\n", encoding="utf-8")
    done = run("scan", "--settings", "s.toml", ok=False)
    assert "[monitor]" in done.stderr and "monitr" in done.stderr


# --- reads create nothing; the version --------------------------------------------------------

@pytest.mark.parametrize("args", [["list"], ["show", "1"], ["history", "1"], ["alerts"],
                                  ["report", "overdue", "--out", "r.html"], ["db", "current"]])
def test_a_read_command_refuses_a_sqlite_file_that_does_not_exist_and_creates_none(
        run, tmp_path, args):
    """A command that only reads, given a SQLite file that does not exist (a typo), refuses
    in one line and creates neither the file nor its output."""
    done = run("--db", "sqlite:///typo.db", *args, ok=False)
    assert "typo.db does not exist" in done.stderr and done.stderr.count("\n") == 1
    assert not (tmp_path / "typo.db").exists() and not (tmp_path / "r.html").exists()


def test_a_write_command_still_creates_a_new_sqlite_file(run, tmp_path):
    """A command that writes (open) creates a SQLite file that does not exist yet."""
    run("--db", "sqlite:///new.db", *open_args(*FULL))
    assert (tmp_path / "new.db").exists()


def test_an_unknown_schema_revision_is_refused_in_one_line_and_creates_no_database(run, tmp_path):
    """`db upgrade` to a revision this sstransfer does not ship is refused in one line before
    the database is touched: no SQLite file is created."""
    done = run("--db", "sqlite:///fresh.db", "db", "upgrade", "deadbeef", ok=False)
    assert "no schema revision 'deadbeef'" in done.stderr and done.stderr.count("\n") == 1
    assert not (tmp_path / "fresh.db").exists()


def test_db_upgrade_brings_the_schema_to_a_revision_and_db_current_says_where_it_is(run, db_url):
    """`db upgrade 0001` brings an empty database to that revision, after which `db current`
    says an upgrade is needed; `db upgrade` then brings it to the revision this sstransfer
    needs, and `db current` says it is up to date."""
    assert run("db", "upgrade", "0001").stdout.startswith("schema: empty -> 0001 (")
    assert run("db", "current").stdout.startswith("0001 (this sstransfer needs ")
    assert run("db", "current").stdout.endswith("`sstransfer db upgrade` needed\n")
    upgraded = run("db", "upgrade").stdout
    head = upgraded.removeprefix("schema: 0001 -> ").split()[0]
    assert head != "0001"
    assert run("db", "current").stdout == f"{head} (this sstransfer needs {head}): up to date\n"
    with Engine(db_url, auto_upgrade=False):  # an engine takes the database as it is
        pass


def test_the_version_is_the_installed_package_version(run):
    """`--version` prints the version of the installed package."""
    from importlib.metadata import version

    assert run("--version").stdout.strip() == f"sstransfer {version('sstransfer')}"


def test_a_call_leaves_nothing_behind_for_the_next_one(run, db_url, tmp_path):
    """Each call of the `run` fixture starts as a new process would: the global options of
    one call (--db, --log-level) do not carry over to the next, and the environment, the
    working folder, sys.argv and structlog's configuration are as before the calls."""
    import structlog

    Engine(db_url).close()
    before = dict(os.environ), os.getcwd(), list(sys.argv), structlog.get_config()
    run("--db", f"sqlite:///{tmp_path / 'other.db'}", "--log-level", "debug", *open_args(*FULL))
    assert json.loads(run("list", "--json").stdout) == []  # the test's database, not other.db
    assert (dict(os.environ), os.getcwd(), list(sys.argv), structlog.get_config()) == before


# --- real processes: the entry points, exit codes, start-up -------------------------------

ENTRY_POINTS = {  # how a user starts the command line
    "python -m workflow.cli": [sys.executable, "-m", "workflow.cli"],
    "sstransfer": [str(Path(sys.executable).parent / "sstransfer")],  # the console script
}


def in_a_process(command: list[str], db_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SSTRANSFER_DATABASE_URL": db_url, "COLUMNS": "200"}
    return subprocess.run(command, env=env, capture_output=True, text=True, cwd=cwd, timeout=120)


@sqlite_only
@pytest.mark.parametrize("entry_point", sorted(ENTRY_POINTS))
def test_each_entry_point_exits_0_on_a_good_call_and_1_in_one_line_on_a_refusal(
        db_url, tmp_path, entry_point):
    """Started as a process, by `python -m workflow.cli` or the installed `sstransfer`
    script: a good call exits 0 with its output on stdout; a refused one exits 1 with one
    line on stderr, nothing on stdout and no traceback."""
    command = ENTRY_POINTS[entry_point]
    good = in_a_process([*command, *open_args(*FULL)], db_url, tmp_path)
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["state"] == "applied"
    bad = in_a_process([*command, "show", "42"], db_url, tmp_path)
    assert (bad.returncode, bad.stdout) == (1, "")
    assert bad.stderr == "error: case 42 does not exist\n"


@sqlite_only
def test_a_usage_error_in_a_process_exits_2_in_one_line_without_a_traceback(db_url, tmp_path):
    """A mistyped option in a real process exits 2 with one line on stderr, no traceback."""
    done = in_a_process([*ENTRY_POINTS["sstransfer"], "fire", "one", "review", *CLERK], db_url,
                        tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr and "sstransfer fire --help`" in done.stderr


def test_help_loads_neither_the_database_layer_nor_the_calendar_nor_rich():
    """`sstransfer --help` imports typer and the CLI module only (issue 9: start-up under
    0.25 s): SQLAlchemy, SQLModel, pydantic, holidays, structlog and Rich are imported by the
    commands that use them. Checked in a fresh interpreter, since this one has them all; the
    package's public names still resolve on first use."""
    heavy = ["sqlalchemy", "sqlmodel", "pydantic", "holidays", "structlog", "rich", "openpyxl",
             "apscheduler"]
    code = (
        "import sys\n"
        "sys.argv = ['sstransfer', '--help']\n"
        "from workflow import cli\n"
        "try:\n"
        "    cli.main()\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)\n"
        "import workflow\n"
        "assert all(getattr(workflow, name) for name in workflow.__all__)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Usage" in done.stdout and "scan" in done.stdout
    assert done.stderr.strip().splitlines()[0] == "[]"
