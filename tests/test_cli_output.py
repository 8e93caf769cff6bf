"""What the ``sstransfer`` command line prints (issue 21, "The command line"): typed choices
that the shell completes, ids and dates never cut at 80 columns, a short confirmation after
every write, and ``--json`` for every command that prints data."""

from __future__ import annotations

import json
import re

import pytest
from conftest import PERSON_ID, call_cli, open_case, sqlite_only

from workflow import Engine

EMPLOYER = ["--actor", "hr-7", "--role", "employer"]
CLERK = ["--actor", "c-12", "--role", "destination_clerk", "--agency", "440300"]
FULL = ("application_form", "id_card", "payment_voucher", "endowment_manual",
        "employment_certificate")
OPEN = ["open", "pension_transfer", "--person-id", PERSON_ID, "--person-name", "张三",
        "--origin", "310000", "--destination", "440300", "--applicant", "employer",
        "--on", "2025-09-26", *EMPLOYER, *(a for d in FULL for a in ("-d", d))]


# --- typed choices ------------------------------------------------------------------------------

def test_each_typed_choice_holds_exactly_the_values_the_core_accepts():
    """The choices the command line offers are the core's own sets (spelled in the CLI so that
    --help loads no model): a value added to the core is offered, none is offered it refuses."""
    from workflow.cli import choices
    from workflow.core.access import TOKEN_ROLES
    from workflow.core.alerts import ALERT_LEVELS
    from workflow.core.events import EVENT_NAMES
    from workflow.core.notify import MESSAGE_STATES, SUBSCRIPTION_CHANNELS
    from workflow.core.schema import APPLICANT_KINDS, CHANNELS, ROLES, SCHEMES
    from workflow.core.words import LANGUAGES
    from workflow.render import FORMATS as REPORT_FORMATS
    from workflow.services.papers import FORMATS as PAPER_FORMATS
    from workflow.settings import DAYS

    pairs = [(choices.Role, ROLES), (choices.TokenRole, TOKEN_ROLES),
             (choices.Applicant, APPLICANT_KINDS), (choices.Channel, CHANNELS),
             (choices.Scheme, SCHEMES), (choices.AlertLevel, ALERT_LEVELS),
             (choices.OutboxState, MESSAGE_STATES),
             (choices.SubscriptionChannel, SUBSCRIPTION_CHANNELS),
             (choices.EventName, EVENT_NAMES), (choices.PaperFormat, PAPER_FORMATS),
             (choices.ReportFormat, REPORT_FORMATS), (choices.Language, LANGUAGES),
             (choices.Weekday, DAYS)]
    for choice, core in pairs:
        assert {c.value for c in choice} == set(core), choice.__name__


@sqlite_only
@pytest.mark.parametrize("args, option", [
    (["open", "pension_transfer", "--applicant", "boss"], "--applicant"),
    (["fire", "1", "review", "--actor", "c-1", "--role", "clerk"], "--role"),
    (["alerts", "--level", "late"], "--level"),
    (["papers", "print", "1", "--out", "x.pdf", "--format", "docx"], "--format"),
    (["subscriptions", "add", "--channel", "email", "--target", "a@b.cn", "--event", "case"],
     "--event"),
    (["--log-level", "loud", "list"], "--log-level"),
])
def test_a_value_outside_a_typed_choice_is_refused_in_one_line_naming_the_choices(
        run, db_url, args, option):
    """A value outside a fixed set is refused before anything runs (exit 2), in one line
    naming the option and listing the values it takes."""
    Engine(db_url).close()
    done = run(*args, ok=False)
    assert done.returncode == 2 and done.stdout == ""
    assert f"Invalid value for '{option}'" in done.stderr and "is not one of" in done.stderr


# --- shell completion ---------------------------------------------------------------------------

def test_show_completion_bash_prints_the_completion_script(run):
    """`sstransfer --show-completion bash` prints a bash script that registers the completion
    of sstransfer (its `complete` line) and exits 0."""
    done = run("--show-completion", "bash")
    assert "complete -o default -F _sstransfer_completion sstransfer" in done.stdout
    assert "_SSTRANSFER_COMPLETE=complete_bash" in done.stdout


def complete(db_url, tmp_path, words: str) -> list[str]:
    """What bash's TAB proposes after ``words`` (the last word is the one being typed)."""
    done = call_cli(env={"SSTRANSFER_DATABASE_URL": db_url, "_SSTRANSFER_COMPLETE": "complete_bash",
                         "COMP_WORDS": words, "COMP_CWORD": str(len(words.split(" ")) - 1)},
                    cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@sqlite_only
@pytest.mark.parametrize("words, proposed", [
    ("sstransfer open pension_transfer --applicant ", ["self", "employer", "agent"]),
    ("sstransfer alerts --level e", ["escalated"]),
    ("sstransfer list --state a", ["accepted", "applied", "awaiting_documents"]),
    ("sstransfer list --definition m", ["medical_transfer"]),
    ("sstransfer fire 1 re", ["reject", "request_documents", "resubmit", "review"]),
    ("sstransfer attach 1 -d endow", ["endowment_manual"]),
    ("sstransfer --show-completion z", ["zsh"]),
])
def test_tab_proposes_the_values_of_a_choice(db_url, tmp_path, words, proposed):
    """TAB completes a fixed choice from its set and a choice read from the definitions (a
    state, a definition, a trigger, a document kind) from the definitions in use."""
    assert complete(db_url, tmp_path, words) == proposed


# --- ids and dates never cut --------------------------------------------------------------------

def at_80_columns(db_url, tmp_path, *args: str) -> str:
    done = call_cli(*args, env={"SSTRANSFER_DATABASE_URL": db_url, "COLUMNS": "80"},
                    cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_at_80_columns_the_public_case_number_and_the_dates_appear_whole(db_url, tmp_path):
    """At 80 columns `list`, `show`, `history` and `alerts` print the case's 20-digit public
    number, its ISO dates and its masked ID number whole: never folded, never cut with an
    ellipsis (a table too wide for the terminal is printed one row per block)."""
    with Engine(db_url) as engine:
        case = open_case(engine)
        engine.scan(engine.spans(case.id)[0].due_on.replace(day=1).replace(month=12))
    number = case.public_number
    assert re.fullmatch(r"[0-9]{20}", number)
    listed = at_80_columns(db_url, tmp_path, "list")
    for whole in (number, "2025-09-26", "110105********002X"):
        assert whole in listed, listed
    assert all(len(line) <= 80 for line in listed.splitlines())
    shown = at_80_columns(db_url, tmp_path, "show", str(case.id))
    for whole in (number, "2025-09-26", "2025-10-23"):
        assert whole in shown, shown
    assert "2025-09-26" in at_80_columns(db_url, tmp_path, "history", str(case.id))
    alerts = at_80_columns(db_url, tmp_path, "alerts")
    assert "2025-10-23" in alerts and "2025-12-01" in alerts
    assert "…" not in listed + shown + alerts


@sqlite_only
def test_a_wide_terminal_still_gets_a_table(run, db_url):
    """Where every column fits (200 columns), `list` draws a table with a header row."""
    with Engine(db_url) as engine:
        case = open_case(engine)
    listed = run("list").stdout
    assert re.search(r"┃ id ┃ number\s*┃", listed) and case.public_number in listed


# --- a short confirmation after a write ---------------------------------------------------------

def test_a_write_command_confirms_the_case_its_state_its_next_steps_and_its_due_date(run, db_url):
    """open, fire, attach and correct-date each print the case (its public number), the
    state it is in, the steps that may come next and the due date of its running time limit,
    in a few lines (not the whole case)."""
    opened = run(*OPEN).stdout
    with Engine(db_url) as engine:
        case = engine.cases()[0]
    assert opened.splitlines() == [
        f"case {case.id} (number {case.public_number}) opened: applied",
        "next: review, reject, request_documents, withdraw",
        "due 2025-10-23: destination_review at 440300"]
    reviewed = run("fire", str(case.id), "review", *CLERK, "--on", "2025-10-09").stdout
    assert reviewed.splitlines()[0].endswith("review: reviewed")
    assert "next: reject, send_letter, withdraw" in reviewed and "due 2025-10-23" in reviewed
    attached = run("attach", str(case.id), *CLERK, "-d", "id_card", "--on", "2025-10-09").stdout
    assert attached.splitlines()[0].endswith("documents attached: reviewed")
    corrected = run("correct-date", str(case.id), "2025-10-10", "--reason", "typo",
                    "--actor", "s-1", "--role", "supervisor", "--agency", "440300").stdout
    assert corrected.splitlines()[0].endswith("date corrected: reviewed")
    assert len(corrected.splitlines()) == 3


def test_a_write_command_in_json_gives_the_case_its_next_steps_and_its_due_dates(run):
    """`open --json` gives the case as `show --json` does, plus `next_steps` and `due` (one
    object per running time limit)."""
    case = json.loads(run(*OPEN, "--json").stdout)
    assert case["state"] == "applied" and len(case["public_number"]) == 20
    assert case["next_steps"] == ["review", "reject", "request_documents", "withdraw"]
    assert case["due"] == [{"span": "destination_review", "owner_agency": "440300",
                            "due_on": "2025-10-23", "committed_due_on": None,
                            "provisional": False}]


# --- --json for everything ------------------------------------------------------------------------

#: Commands that print no data: they run a service, or print a guided tour.
NO_JSON = {"serve", "scheduler run", "demo"}


def test_every_command_that_prints_data_has_a_json_option():
    """Every command but the services and the demo's tour takes --json."""
    from typer.main import get_command

    from workflow.cli import app

    def commands(group, prefix=""):
        for name, command in group.commands.items():
            if getattr(command, "commands", None):
                yield from commands(command, f"{prefix}{name} ")
            else:
                yield f"{prefix}{name}", command

    without = {name for name, command in commands(get_command(app))
               if not any("--json" in p.opts for p in command.params)}
    assert without == NO_JSON


def test_the_json_of_each_command_parses_with_a_stable_shape(run, db_url, tmp_path):
    """Each command's --json output is one JSON document with the keys it promises."""
    from workflow.testing import valid_person_id

    def js(*args: str):
        return json.loads(run(*args, "--json").stdout)

    case = js(*OPEN)
    cid = str(case["id"])
    assert js("fire", cid, "review", *CLERK, "--on", "2025-10-09")["state"] == "reviewed"
    assert js("attach", cid, *CLERK, "-d", "id_card", "--on", "2025-10-09")["id"] == case["id"]
    assert js("correct-date", cid, "2025-10-10", "--reason", "typo", "--actor", "s-1",
              "--role", "supervisor", "--agency", "440300")["last_event_on"] == "2025-10-10"
    assert js("show", cid)["spans"][0]["due_on"] == "2025-10-23"
    assert [h["trigger"] for h in js("history", cid)] == ["open", "review", "attach_documents",
                                                          "correct_business_date"]
    assert [c["id"] for c in js("list")] == [case["id"]]
    assert set(js("scan", "--as-of", "2025-12-01")) == {"as_of", "ran", "reason", "counts",
                                                         "delivered"}
    assert {a["case_id"] for a in js("alerts")} == {case["id"]}
    (tmp_path / "a.csv").write_text(
        "definition,person_id,person_name,origin,destination,applicant,channel,documents,"
        f"received_on\npension_transfer,{valid_person_id(seed=7)},李四,310000,440300,employer,counter,"
        "id_card,2025-09-26\n", encoding="utf-8")
    assert js("import", "a.csv", *CLERK)["opened"] == 1
    assert js("definitions", "validate")["definitions"][0]["content_hash"]
    assert js("definitions", "diagram", "pension_transfer")["mermaid"].startswith("---")
    assert js("calendar", "due", "2025-09-26")["due_on"] == "2025-10-23"
    assert isinstance(js("calendar", "recompute"), list)
    report = js("report", "overdue", "--as-of", "2025-12-01", "--out", "r.csv")
    assert report["overdue"] == 2 and report["path"].endswith("r.csv")
    assert js("papers", "list", cid) == []
    assert js("outbox", "list")[0]["name"] == "case.opened"
    assert {"fanned_out", "delivered"} <= set(js("outbox", "deliver"))
    subscription = js("subscriptions", "add", "--agency", "440300", "--channel", "email",
                      "--target", "a@b.cn")["subscription"]
    assert js("subscriptions", "list")[0]["id"] == subscription["id"]
    assert js("subscriptions", "remove", str(subscription["id"]))["removed"] is True
    assert js("outbox", "retry", "1") == {"event": 1, "retried": 0}
    assert js("funds", "pension", "--period", "1998-01:1998-12:1000",
              "--personal-account", "0")["total"]
    assert js("db", "current")["up_to_date"] is True
    assert js("db", "upgrade")["after"] == js("db", "current")["head"]
    token = js("tokens", "create", "--actor", "c-1", "--role", "clerk", "--agency", "440300",
               "--department", "pension")
    assert [t["id"] for t in js("tokens", "list")] == [token["id"]]
    assert js("tokens", "revoke", str(token["id"])) == {"token": token["id"], "revoked": True}
