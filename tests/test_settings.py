"""Settings: strict types, bounds, unknown tables and keys refused, one-line errors."""

from __future__ import annotations

import datetime as dt
import re
import string
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workflow import DefinitionError, SettingsError, WorkflowError
from workflow.settings import Settings

EXAMPLE = Path(__file__).resolve().parent.parent / "sstransfer.example.toml"


def test_the_example_settings_file_is_valid_and_documents_every_setting_with_its_default():
    """Every setting is in the example file, set to its default; one unset by default (None,
    which TOML cannot write) is shown as a commented-out example instead."""
    text = EXAMPLE.read_text(encoding="utf-8")
    assert Settings.load(EXAMPLE) == Settings()
    keys = {line.split("=")[0].strip() for line in text.splitlines()
            if "=" in line and not line.lstrip().startswith("#")}
    unset = {line.removeprefix("# ").split("=")[0].strip() for line in text.splitlines()
             if re.match(r"# \w+ = ", line)}
    optional = {name for name, field in Settings.model_fields.items() if field.default is None}
    assert keys == set(Settings.model_fields) - optional
    assert unset == optional


def test_a_settings_file_sets_values_and_keyword_arguments_override_it(tmp_path):
    """A settings file sets the values it names, a keyword argument overrides the file, and a
    keyword argument of None leaves the default."""
    path = tmp_path / "s.toml"
    path.write_text('[monitor]\nscan_at = "09:15"\nlease_seconds = 60\n'
                    'report_formats = ["csv"]\n', encoding="utf-8")
    s = Settings.load(path, scan_at="10:00", report_day=None)
    assert (s.scan_at, s.lease_seconds, s.report_formats, s.report_day) == (
        dt.time(10, 0), 60, ("csv",), "mon")


@pytest.mark.parametrize("text, words", [
    ("[monitor]\nscan_at = 830\n", '[monitor] scan_at: must be a time of day in China as "HH:MM"'),
    ("[monitor]\nscan_at = \"8:30\"\n", "[monitor] scan_at:"),
    ("[monitor]\nreport_at = \"24:00\"\n", "[monitor] report_at:"),
    ("[monitor]\nscan_at = 1979-05-27T07:32:00\n", "[monitor] scan_at:"),
    ("[monitor]\nscan_at = 08:30:15\n", "[monitor] scan_at:"),
    ("[monitr]\nscan_at = \"08:30\"\n", "monitr: unknown table"),
    ("scan_at = \"08:30\"\n", "scan_at: unknown key"),
    ("monitor = 3\n", "monitor: must be a table"),
    ("[monitor]\nscan_time = \"08:30\"\n", "[monitor] scan_time: unknown key; the keys are"),
    ("[monitor]\nlease_seconds = 1e20\n", "[monitor] lease_seconds: Input should be a valid integer"),
    ("[monitor]\nlease_seconds = 100000000000000000000\n",
     "[monitor] lease_seconds: Input should be less than or equal to 86400"),
    ("[monitor]\nlease_seconds = 0\n", "[monitor] lease_seconds:"),
    ("[monitor]\ndue_soon_days = \"3\"\n", "[monitor] due_soon_days: Input should be a valid integer"),
    ("[monitor]\nescalate_after_days = true\n", "[monitor] escalate_after_days:"),
    ("[monitor]\ndue_soon_days = 3.0\n", "[monitor] due_soon_days:"),
    ("[monitor]\nreport_day = \"Monday\"\n", "[monitor] report_day:"),
    ("[monitor]\nreport_formats = [\"pdf\"]\n", "[monitor] report_formats.0:"),
    ("[monitor]\nreport_formats = []\n", "[monitor] report_formats:"),
    ("[monitor]\nreport_formats = \"html\"\n", "[monitor] report_formats:"),
    ("[monitor]\nreport_dir = 5\n", "[monitor] report_dir: must be a folder name"),
    ("[monitor]\nreport_dir = \"\"\n", "[monitor] report_dir: must be a folder name"),
    ("[monitor]\nscan_at = \"08:30\"\nscan_at = \"09:00\"\n", "is not valid TOML"),
    ("[monitor\n", "is not valid TOML"),
    ("[reports]\nlanguage = \"fr\"\n", "[reports] language: Input should be 'zh' or 'en'"),
    ("[monitor]\nlanguage = \"en\"\n", "[monitor] language: unknown key"),
])
def test_a_bad_settings_file_is_refused_in_one_line_naming_the_file_the_key_and_the_reason(
        tmp_path, text, words):
    """A settings file with a wrong type, a value out of bounds, an unknown table or key, or
    broken TOML is refused in one line naming the file, the table and key, and the reason."""
    path = tmp_path / "sstransfer.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError) as refused:
        Settings.load(path)
    message = str(refused.value)
    assert message.startswith(f"{path}: ") and words in message
    assert "\n" not in message


def test_reports_are_in_chinese_unless_the_reports_table_says_english(tmp_path):
    """`language` in `[reports]`: "zh" by default, "en" on request; nothing else."""
    assert Settings().language == "zh"
    path = tmp_path / "s.toml"
    path.write_text('[reports]\nlanguage = "en"\n', encoding="utf-8")
    assert Settings.load(path).language == "en"


def test_a_settings_error_is_its_own_kind_of_workflow_error():
    """A SettingsError is a WorkflowError of its own, not a DefinitionError."""
    assert issubclass(SettingsError, WorkflowError)
    assert not issubclass(SettingsError, DefinitionError)


def test_a_bad_keyword_argument_is_blamed_on_the_argument_not_on_the_file(tmp_path):
    """A bad keyword argument of Settings.load is refused as Settings.load()'s, not the file's,
    naming the argument; so is an unknown one."""
    path = tmp_path / "s.toml"
    path.write_text('[monitor]\nscan_at = "09:15"\n', encoding="utf-8")
    with pytest.raises(SettingsError, match=r"^Settings.load\(\): scan_at: must be a time"):
        Settings.load(path, scan_at="830")
    with pytest.raises(SettingsError, match=r"^Settings.load\(\): colour: unknown key"):
        Settings.load(colour="red")


@pytest.mark.parametrize("value", [830, "830", dt.time(8, 30, tzinfo=ZoneInfo("Asia/Shanghai")),
                                   dt.time(8, 30, 15), None, 8.5])
def test_settings_made_in_python_refuse_a_time_that_is_not_hh_mm(value):
    """(``scan_at = 830`` used to become 00:13:50 and break the scheduler's catch-up.)"""
    with pytest.raises(SettingsError, match=r"^Settings\(\.\.\.\): scan_at: "):
        Settings(scan_at=value)


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig", "utf-16"])
def test_a_settings_file_saved_by_chinese_windows_tools_is_read(tmp_path, encoding):
    """A settings file saved as GBK, GB18030, UTF-8 with a BOM or UTF-16 is read, its Chinese
    folder name intact."""
    path = tmp_path / "s.toml"
    path.write_bytes('# 监控设置\n[monitor]\nreport_dir = "逾期报告"\n'.encode(encoding))
    assert Settings.load(path).report_dir == Path("逾期报告")


def test_a_settings_file_that_is_not_text_or_not_there_is_refused_in_one_line(tmp_path):
    """A settings file that is not text, is missing or is a folder is refused in one line saying so."""
    binary = tmp_path / "s.toml"
    binary.write_bytes(b"\xff\xfe\x00\xd8" + bytes(range(256)))
    for path, words in ((binary, "is not text"), (tmp_path / "missing.toml", "cannot be read"),
                        (tmp_path, "cannot be read")):
        with pytest.raises(SettingsError, match=words) as refused:
            Settings.load(path)
        assert "\n" not in str(refused.value)


# --- fuzz: only WorkflowError subclasses escape the settings loader ----------------------------

_KEYS = [*Settings.model_fields, "monitr", "scan_time", "", "a.b", "\"x\""]
_VALUES = ['"08:30"', "830", "1e20", "-1", "0", "3", "true", '"mon"', '["html"]', "[]", '""',
           "08:30:00", "1979-05-27", "nan", "inf", '"\\u0000"', "{ a = 1 }", "[[1]]", "'x'",
           str(10**30), '"24:61"', '"reports"', "[", "="]
_LINES = st.one_of(
    st.builds(lambda k, v: f"{k} = {v}", st.sampled_from(_KEYS), st.sampled_from(_VALUES)),
    st.sampled_from(["[monitor]", "[monitr]", "[[monitor]]", "[monitor.sub]", "# 注释", ""]),
    st.text(string.printable + "中文　＝", max_size=30),
)
_OVERRIDES = st.dictionaries(
    st.sampled_from([*Settings.model_fields, "bogus"]),
    st.one_of(st.none(), st.integers(), st.floats(), st.text(max_size=10), st.booleans(),
              st.lists(st.text(max_size=5), max_size=3), st.times(), st.binary(max_size=5),
              st.builds(Path, st.text(max_size=5))),
    max_size=4)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(_LINES, max_size=8), raw=st.binary(max_size=40), use_raw=st.booleans(),
       overrides=_OVERRIDES)
def test_the_settings_loader_raises_only_workflow_errors_on_any_file_and_arguments(
        tmp_path, lines, raw, use_raw, overrides):
    """Any file (random lines or bytes) and any keyword arguments give valid settings or a one-line
    SettingsError, nothing else."""
    path = tmp_path / "fuzz.toml"
    path.write_bytes(raw if use_raw else "\n".join(lines).encode("utf-8"))
    try:
        loaded = Settings.load(path, **overrides)
    except WorkflowError as exc:
        assert isinstance(exc, SettingsError) and "\n" not in str(exc)
    else:
        assert isinstance(loaded.scan_at, dt.time) and loaded.scan_at.tzinfo is None
        assert isinstance(loaded.lease_seconds, int) and 1 <= loaded.lease_seconds <= 86_400
