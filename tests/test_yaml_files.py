"""Every YAML file a user edits (definitions, the document catalogue, calendars, committed
limits) is read the same careful way: decoded as Chinese back offices save it, with a key given
twice, an impossible date or a calendar date outside its year refused by file and line."""

from __future__ import annotations

import codecs
import contextlib
import datetime as dt
import textwrap
from pathlib import Path

import pytest
from conftest import snapshot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workflow import DefinitionError, DefinitionSet, Engine, WorkflowError, WorkingCalendar
from workflow.core.calendar import STATUTORY_HOLIDAYS
from workflow.core.catalogue import DocumentCatalogue
from workflow.core.definitions import parse_definition
from workflow.loading import COMMITMENTS_FILE, read_yaml

D = dt.date
SHIPPED = DefinitionSet()


def line_of(path: Path, needle: str, nth: int = 1) -> int:
    hits = [n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if needle in line]
    return hits[nth - 1]


# --- a key given twice -----------------------------------------------------------------------

@pytest.mark.parametrize("name, old, new, key, first, second", [
    ("pension_transfer.yaml", "version: 1\n", "version: 1\nversion: 2\n", "version", 0, 1),
    ("pension_transfer.yaml", "    dest: reviewed\n", "    dest: reviewed\n    dest: rejected\n",
     "dest", 0, 1),
    ("documents.yaml", "  id_card:\n", "  id_card:\n    zh: 身份证\n", "zh", 1, 2),
])
def test_a_key_given_twice_is_an_error_naming_both_lines(definitions_dir, name, old, new, key,
                                                         first, second):
    """YAML would silently keep the last `version: 2`; the loader names both lines instead."""
    path = definitions_dir / name
    at = line_of(path, old.rstrip("\n"))
    path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    with pytest.raises(DefinitionError) as info:
        DefinitionSet(definitions_dir)
    assert info.value.path == str(path)
    assert info.value.line == at + second
    assert f"key '{key}' is given twice (first on line {at + first})" in str(info.value)


def test_a_commitment_key_given_twice_is_refused(definitions_dir):
    """A key given twice in the committed-limits file is refused naming both lines, as in a
    definition."""
    (definitions_dir / COMMITMENTS_FILE).write_text(
        "commitments:\n  - definition: pension_transfer\n    span: destination_review\n"
        "    province: '44'\n    working_days: 7\n    working_days: 9\n    source: test\n",
        encoding="utf-8")
    with pytest.raises(DefinitionError, match=r"line 6: key 'working_days' is given twice "
                                              r"\(first on line 5\)"):
        DefinitionSet(definitions_dir)


# --- encodings ---------------------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["gb18030", "gbk", "utf-8-sig", "utf-16"])
def test_a_definition_saved_by_chinese_windows_tools_is_read(definitions_dir, encoding):
    """Notepad and Excel on Chinese Windows save GBK/GB18030, or UTF-8/16 with a BOM."""
    path = definitions_dir / "pension_transfer.yaml"
    text = path.read_text(encoding="utf-8").replace("title: Transfer", "title: 养老保险关系转移 Transfer")
    path.write_bytes(text.encode(encoding))
    assert DefinitionSet(definitions_dir).latest("pension_transfer").model.title.startswith("养老")


def test_a_file_in_no_known_encoding_is_refused_in_one_line(definitions_dir):
    """A definition file that is neither UTF-8 nor GB18030/GBK is refused in one line naming the
    file and the encodings read."""
    path = definitions_dir / "pension_transfer.yaml"
    path.write_bytes(codecs.BOM_UTF8 + b"name: \xff\xfe\x80\n")
    with pytest.raises(DefinitionError) as info:
        DefinitionSet(definitions_dir)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path))
    assert "UTF-8 (with or without BOM) or GB18030/GBK" in message


def test_a_refused_definitions_folder_writes_nothing(definitions_dir, db_url):
    """An engine refused for a bad definitions folder writes nothing to the database."""
    with Engine(db_url) as engine:
        before = snapshot(engine)
        path = definitions_dir / "pension_transfer.yaml"
        path.write_text(path.read_text(encoding="utf-8") + "version: 3\n", encoding="utf-8")
        with pytest.raises(DefinitionError, match="is given twice"):
            Engine(db_url, definitions=definitions_dir)
        assert snapshot(engine) == before


# --- calendars/YEAR.yaml -----------------------------------------------------------------------

FULL_2027 = """\
    year: 2027
    source: test schedule (not the real 2027 notice)
    holidays:
      - {name: 元旦, from: 2027-01-01, to: 2027-01-03}
      - {name: 春节, from: 2027-02-06, to: 2027-02-13}
      - {name: 清明节, from: 2027-04-05, to: 2027-04-05}
      - {name: 劳动节, from: 2027-05-01, to: 2027-05-05}
      - {name: 端午节, from: 2027-06-09, to: 2027-06-09}
      - {name: 中秋节, from: 2027-09-15, to: 2027-09-15}
      - {name: 国庆节, from: 2027-10-01, to: 2027-10-07}
    make_up_workdays: [2027-02-20]
"""


def calendars(tmp_path: Path, text: str, name: str = "2027.yaml") -> Path:
    folder = tmp_path / "calendars"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return folder


def test_a_schedule_with_all_seven_statutory_holidays_makes_its_year_official(tmp_path):
    """A year's schedule setting all seven statutory holidays makes the year official, with its
    holidays off and its make-up days worked."""
    cal = WorkingCalendar(calendars(tmp_path, FULL_2027))
    assert cal.is_official(2027) and cal.incomplete == {}
    assert not cal.is_working_day(D(2027, 2, 8)) and cal.is_working_day(D(2027, 2, 20))


@pytest.mark.parametrize("holiday", STATUTORY_HOLIDAYS)
def test_a_schedule_lacking_a_statutory_holiday_stays_provisional_and_says_which(tmp_path, holiday):
    """A 2027 file without 中秋节 (or any of the seven) leaves 2027 provisional."""
    text = "\n".join(line for line in FULL_2027.splitlines() if f"name: {holiday}," not in line)
    cal = WorkingCalendar(calendars(tmp_path, text + "\n"))
    assert not cal.is_official(2027)
    assert cal.incomplete == {2027: (holiday,)}
    assert cal.due(D(2027, 3, 1), 15).provisional


def test_one_range_may_name_two_holidays_that_fall_together(tmp_path):
    """2025's notice: 国庆节、中秋节 together from 10-01 to 10-08."""
    text = FULL_2027.replace("      - {name: 中秋节, from: 2027-09-15, to: 2027-09-15}\n", "") \
                    .replace("name: 国庆节,", "name: 国庆节、中秋节,")
    assert WorkingCalendar(calendars(tmp_path, text)).is_official(2027)


@pytest.mark.parametrize("old, new, needle, words", [
    ("to: 2027-01-03}", "to: 2028-01-03}", "元旦", "runs outside 2027"),
    ("from: 2027-04-05, to: 2027-04-05", "from: 2028-04-05, to: 2028-04-05", "清明节",
     "runs outside 2027"),
    ("[2027-02-20]", "[2028-02-19]", "make_up_workdays", "2028-02-19 is not in 2027"),
    ("from: 2027-06-09, to: 2027-06-09", "from: 2027-06-31, to: 2027-06-31", "端午节",
     "'2027-06-31' is not a real date"),
    ("from: 2027-02-06,", "from: 2027-02-30,", "春节", "'2027-02-30' is not a real date"),
    ("year: 2027", "year: 2028", "year:", "the file of 2027 gives year 2028"),
])
def test_a_calendar_date_outside_its_year_or_impossible_is_refused_with_file_and_line(
        tmp_path, old, new, needle, words):
    """`calendars/2027.yaml` holding 2028 dates, or 2027-02-30, is one line naming file and line."""
    folder = calendars(tmp_path, FULL_2027.replace(old, new, 1))
    with pytest.raises(DefinitionError) as info:
        WorkingCalendar(folder)
    message = str(info.value)
    assert words in message and "\n" not in message
    assert info.value.path.endswith("2027.yaml")
    assert info.value.line == line_of(folder / "2027.yaml", needle)


def test_days_of_the_next_year_count_only_where_marked_adjacent(tmp_path):
    """The 2007 notice made Saturday 2006-12-30 and Sunday 2006-12-31 working days, and 元旦
    may start on 12-30 of the year before."""
    text = FULL_2027.replace("{name: 元旦, from: 2027-01-01, to: 2027-01-03}",
                             "{name: 元旦, from: 2026-12-31, to: 2027-01-02, adjacent_year: true}")
    text += "    adjacent_year_make_up_workdays: [2026-12-26]\n"
    cal = WorkingCalendar(calendars(tmp_path, text))
    assert cal.is_working_day(D(2026, 12, 26)) and not cal.is_working_day(D(2026, 12, 31))
    unmarked = text.replace(", adjacent_year: true", "")
    with pytest.raises(DefinitionError, match="mark it `adjacent_year: true`"):
        WorkingCalendar(calendars(tmp_path, unmarked))


# --- the loader under fuzzing --------------------------------------------------------------------

PENSION = (SHIPPED.folder / "pension_transfer.yaml").read_text(encoding="utf-8")
yaml_bits = st.sampled_from([
    "name: x\n", "version: 1\n", "version: 1\n", "states: [a, b]\n", "- ", ": ", "{", "}", "[", "]",
    "&a ", "*a ", "<<: *a\n", "!!python/object:os.system\n", "2027-02-30", "\t", "\x00", "'", '"',
    "? ", "|\n", "  ", "\n", "…", "版本", "1e999", "-.inf", "null", "~", "transitions:\n  - ",
])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(
    st.text(max_size=300),
    st.lists(yaml_bits, max_size=40).map("".join),
    st.tuples(st.integers(0, len(PENSION)), st.integers(0, 80), st.lists(yaml_bits, max_size=6))
      .map(lambda t: PENSION[:t[0]] + "".join(t[2]) + PENSION[t[0] + t[1]:]),
))
def test_only_workflow_errors_escape_the_definition_loader(text):
    """Random, mostly malformed definition text: parsed or refused, never a crash."""
    catalogue = SHIPPED.catalogue
    try:
        parse_definition("fuzz.yaml", catalogue, text)
    except WorkflowError as exc:
        assert len(str(exc).splitlines()) == 1, "a refusal is one line"


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_only_workflow_errors_escape_when_reading_a_file_of_random_bytes(tmp_path_factory, data):
    """Reading a document catalogue of random bytes either parses or raises a WorkflowError."""
    path = tmp_path_factory.mktemp("fuzz") / "documents.yaml"
    path.write_bytes(data)
    with contextlib.suppress(WorkflowError):  # a refusal is fine; anything else fails
        DocumentCatalogue.parse(read_yaml(path))
