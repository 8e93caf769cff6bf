"""What a clerk types on the command line and puts in a CSV file: normalised, or refused in
one line on stderr with nothing written."""

from __future__ import annotations

import csv
import io
import json

import pytest
from conftest import OTHER_PERSON_ID, PERSON_ID, snapshot, sqlite_only

from workflow import Engine
from workflow.testing import valid_person_id

EMPLOYER = ["--actor", "hr-7", "--role", "employer"]
CLERK = ["--actor", "c-12", "--role", "destination_clerk", "--agency", "440300"]
FULL = ("application_form", "id_card", "payment_voucher", "endowment_manual",
        "employment_certificate")
HEADER = ["definition", "person_id", "person_name", "origin", "destination", "applicant",
          "channel", "documents", "received_on"]


@pytest.fixture
def engine(db_url):
    with Engine(db_url) as e:
        yield e


def open_args(*extra: str, origin: str = "310000") -> list[str]:
    args = ["open", "pension_transfer", "--person-id", PERSON_ID, "--person-name", "张三",
            "--origin", origin, "--destination", "440300", "--applicant", "employer",
            "--on", "2025-09-26", *EMPLOYER, "--json", *extra]
    for d in FULL:
        args += ["-d", d]
    return args


@sqlite_only
def test_an_agency_code_typed_with_full_width_digits_on_the_command_line_is_stored_as_ascii(run):
    """An agency typed in full-width digits with a trailing space (３１００００ ) is stored as
    310000, and a list filtered by 310000 finds the case."""
    case = json.loads(run(*open_args(origin="３１００００ ")).stdout)
    assert case["origin"] == "310000"
    listed = json.loads(run("list", "--agency", "310000", "--json").stdout)
    assert [c["id"] for c in listed] == [case["id"]]


@sqlite_only
@pytest.mark.parametrize("on", ["20251009", "2025-W41-4", "2025-282", "2025/10/09"])
def test_the_command_line_takes_business_dates_as_yyyy_mm_dd_only(run, engine, on):
    """A business date in another form (no dashes, ISO week, day of the year, slashes) is
    refused in one line naming --on and the form, and nothing is written."""
    case = json.loads(run(*open_args()).stdout)
    before = snapshot(engine)
    done = run("fire", str(case["id"]), "review", *CLERK, "--on", on, ok=False)
    assert "--on must be a date as YYYY-MM-DD" in done.stderr
    assert snapshot(engine) == before


def test_a_step_dated_after_today_is_refused_on_the_command_line(run, engine):
    """A step dated after today (2099-12-31) is refused in one line and nothing is written."""
    case = json.loads(run(*open_args()).stdout)
    before = snapshot(engine)
    done = run("fire", str(case["id"]), "review", *CLERK, "--on", "2099-12-31", ok=False)
    assert "business date 2099-12-31 is after today" in done.stderr
    assert snapshot(engine) == before


def test_a_supervisor_corrects_a_business_date_from_the_command_line(run, engine):
    """Only a supervisor of the case's origin or destination agency corrects a step's date:
    a clerk is refused (naming who may) and nothing is written; the supervisor's correction
    moves the last step's date and is itself a step of the history."""
    case = json.loads(run(*open_args()).stdout)
    cid = str(case["id"])
    run("fire", cid, "review", *CLERK, "--on", "2025-11-09")
    before = snapshot(engine)
    done = run("correct-date", cid, "2025-10-09", "--reason", "typo", *CLERK, ok=False)
    assert "supervisor of agency 310000 or 440300" in done.stderr
    assert snapshot(engine) == before
    fixed = json.loads(run("correct-date", cid, "2025-10-09", "--reason", "typed 11 for 10",
                           "--actor", "s-1", "--role", "supervisor", "--agency", "440300",
                           "--json").stdout)
    assert fixed["last_event_on"] == "2025-10-09"
    history = json.loads(run("history", cid, "--json").stdout)
    assert [h["trigger"] for h in history] == ["open", "review", "correct_business_date"]


def test_a_person_acting_for_themselves_is_known_by_their_id_number_on_the_command_line(run,
                                                                                        engine):
    """Role self opens a case as the person of its ID number; another ID number may not
    withdraw it (refused without showing the case's number, nothing written), the person's
    own number may."""
    args = ["open", "medical_transfer", "--person-id", PERSON_ID, "--person-name", "张三",
            "--origin", "310000", "--destination", "440300", "--applicant", "self",
            "--actor", "p-1", "--role", "self", "--on", "2025-09-26", "--json",
            "--origin-scheme", "urban_employee", "--destination-scheme", "urban_employee"]
    case = json.loads(run(*args).stdout)
    cid = str(case["id"])
    before = snapshot(engine)
    done = run("fire", cid, "withdraw", "--actor", "p-2", "--role", "self",
               "--actor-id-number", OTHER_PERSON_ID, ok=False)
    assert "the person themselves" in done.stderr and PERSON_ID not in done.stderr
    assert snapshot(engine) == before
    withdrawn = json.loads(run("fire", cid, "withdraw", "--actor", "p-1", "--role", "self",
                               "--actor-id-number", PERSON_ID, "--json").stdout)
    assert withdrawn["state"] == "withdrawn"


# --- CSV import ---------------------------------------------------------------------------

def csv_text(*rows: list[str]) -> str:
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\r\n")
    out.writerow(HEADER)
    out.writerows(rows)
    return buffer.getvalue()


def row(name: str = "张三", origin: str = "310000", received: str = "2025-09-26",
        person: int = 0) -> list[str]:
    """A line of an application; ``person`` > 0: another person than PERSON_ID (one person has
    one running pension transfer, so a file names each person once)."""
    person_id = PERSON_ID if person == 0 else valid_person_id(seed=500 + person)
    return ["pension_transfer", person_id, name, origin, "440300", "employer", "counter",
            ";".join(FULL), received]


@pytest.mark.parametrize("encoding", ["gb18030", "gbk", "utf-8-sig", "utf-16"])
def test_a_csv_file_written_by_excel_on_chinese_windows_is_imported(run, engine, tmp_path,
                                                                   encoding):
    """GBK/GB18030, UTF-8 with BOM and UTF-16 with BOM; full-width codes stored as ASCII."""
    path = tmp_path / "申请.csv"
    path.write_bytes(csv_text(row("阿依古丽·买买提", "３１００００"), row("李四", person=1)).encode(encoding))
    done = run("import", str(path), *CLERK)
    assert "2 case(s) opened" in done.stdout
    cases = engine.cases()
    assert [(c.person_name, c.origin) for c in cases] == [("阿依古丽·买买提", "310000"),
                                                          ("李四", "310000")]


def test_a_csv_file_in_no_encoding_we_read_is_refused_naming_the_file(run, engine, tmp_path):
    """A file in none of the encodings read (UTF-8, GB18030/GBK) is refused naming the file
    and those encodings; nothing is written."""
    path = tmp_path / "broken.csv"
    path.write_bytes(csv_text(row()).encode("utf-8") + b"\x80\x80\xff\n")
    before = snapshot(engine)
    done = run("import", str(path), *CLERK, ok=False)
    assert "broken.csv is not text in UTF-8 (with or without BOM) or GB18030/GBK" in done.stderr
    assert snapshot(engine) == before


@pytest.mark.parametrize("bad, words", [
    (row(received="20250926", person=2), "line 4: received_on must be a date as YYYY-MM-DD"),
    (row(received="2099-12-31", person=2), "line 4: business date 2099-12-31 is after today"),
    (row(received="1999-12-31", person=2), "line 4: 1999-12-31 is outside the calendar"),
    (row(origin="449999", person=2), "line 4: origin 449999 is not a GB/T 2260 division code"),
    ([*row(person=2), "extra"], "line 4: more values than the 9 columns"),
])
def test_every_refused_line_of_a_csv_import_is_named_and_nothing_is_written(run, engine, tmp_path,
                                                                            bad, words):
    """Each kind of bad line (a date not as YYYY-MM-DD, after today or off the calendar, an
    unknown division code, too many values) is refused naming its line and the fault, and
    nothing is written, not even the good lines before it."""
    path = tmp_path / "applications.csv"
    path.write_text(csv_text(row(), row(person=1), bad), encoding="utf-8")
    before = snapshot(engine)
    done = run("import", str(path), *CLERK, ok=False)
    assert words in done.stderr
    assert snapshot(engine) == before


def test_the_line_of_a_csv_record_counts_the_line_breaks_before_it(run, engine, tmp_path):
    """A quoted value holding a line break, and a blank line, move the lines that follow; a
    line break inside a name is refused as a control character on the record's first line."""
    documents = ";".join(FULL)
    text = (csv_text(row()).replace(documents, f'"{documents.replace(";", ";" + chr(10))}"')
            + "\r\n" + csv_text(row(origin="449999")).split("\r\n", 1)[1])
    path = tmp_path / "applications.csv"
    path.write_text(text, encoding="utf-8", newline="")
    done = run("import", str(path), *CLERK, ok=False)
    # header 1, the first record 2-6, a blank line 7: the refused record starts on line 8
    assert "line 8: origin 449999" in done.stderr
    path.write_text(text.replace("张三", '"张\r\n三"', 1), encoding="utf-8", newline="")
    done = run("import", str(path), *CLERK, ok=False)
    assert "line 2: person_name contains a control character" in done.stderr
