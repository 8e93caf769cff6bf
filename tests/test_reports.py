"""Overdue reports: figures that match the database, masked IDs, three honest formats."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import os
import re
import shutil
import subprocess
from collections import Counter

import pytest
import sqlalchemy as sa
from conftest import BACKENDS, fresh_database, open_case
from openpyxl import load_workbook

from workflow import Engine, InvalidInput, Settings
from workflow.core.divisions import name_of
from workflow.core.figures import BUCKETS, AgencySummary, OverdueLine, OverdueReport, bucket
from workflow.demo import AS_OF, build_demo
from workflow.i18n import words
from workflow.render import LABELS, chart_svg, display_width, write_report
from workflow.store import cases_t


@pytest.fixture(scope="module", params=BACKENDS)
def demo(request, tmp_path_factory):
    engine = Engine(fresh_database(request.param, tmp_path_factory.mktemp("demo"), "reports"))
    build_demo(engine, cases=200)
    yield engine
    engine.close()


@pytest.mark.parametrize("late, name", [(0, "1–5"), (1, "1–5"), (5, "1–5"), (6, "6–10"),
                                        (10, "6–10"), (11, "11–15"), (15, "11–15"),
                                        (16, "over 15")])
def test_working_days_late_fall_into_aging_buckets(late, name):
    """Working days late fall into the aging buckets 1–5 (a span due today included), 6–10, 11–15
    and over 15, each bound in the lower bucket."""
    assert bucket(late) == name


def test_the_report_figures_equal_an_independent_count_from_the_database(demo):
    """The report's overdue figures per agency, its aging buckets, escalations and on-time rate of
    the last week equal an independent SQL count of the spans."""
    report = demo.overdue_report(AS_OF)
    with demo.db.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT owner_agency, due_on FROM span WHERE ended_on IS NULL "
            "AND COALESCE(committed_due_on, due_on) < :d"),
            {"d": AS_OF}).all()
        closed = conn.execute(sa.text(
            "SELECT owner_agency, COUNT(*), "
            "SUM(CASE WHEN ended_on <= COALESCE(committed_due_on, due_on) THEN 1 ELSE 0 END) "
            "FROM span "
            "WHERE ended_on BETWEEN :a AND :b GROUP BY owner_agency"),
            {"a": AS_OF - dt.timedelta(days=6), "b": AS_OF}).all()
    assert rows, "the demo has overdue spans"
    lines = list(report.lines())
    assert len(lines) == report.total == len(rows)
    per_agency = Counter(agency for agency, _ in rows)
    assert {a: s.overdue for a, s in report.agencies.items() if s.overdue} == dict(per_agency)
    for agency, n, on_time in closed:
        s = report.agencies[agency]
        assert (s.closed, s.closed_on_time) == (n, on_time)
        assert s.on_time_rate == pytest.approx(on_time / n)
    for s in report.agencies.values():
        assert sum(s.buckets.values()) == s.overdue
        assert s.escalated == sum(1 for x in lines
                                  if x.agency == s.agency and x.working_days_late >= 5)


def test_the_report_masks_id_numbers_in_every_format(demo, tmp_path):
    """No format of the report (CSV, HTML, XLSX) holds a whole ID number; each shows it masked
    as 110105********002X."""
    report = demo.overdue_report(AS_OF)
    with demo.db.connect() as conn:
        ids = {r.person_id for r in conn.execute(sa.select(cases_t.c.person_id))}
    for fmt in ("csv", "html"):
        text = write_report(report, fmt, tmp_path / f"r.{fmt}").read_text(encoding="utf-8-sig")
        assert not any(i in text for i in ids)
        assert re.search(r"\d{6}\*{8}\d{3}[\dX]", text)
    book = load_workbook(write_report(report, "xlsx", tmp_path / "r.xlsx"))
    values = {str(c.value) for row in book["逾期环节"].iter_rows() for c in row}
    assert not ids & values


def test_the_csv_has_one_row_per_overdue_span(demo, tmp_path):
    """The CSV report has one row per overdue span, in the report's order, with its statutory due
    date."""
    report = demo.overdue_report(AS_OF)
    with (write_report(report, "csv", tmp_path / "r.csv", "en")).open(encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    lines = list(report.lines())
    assert len(rows) == len(lines)
    assert rows[0]["statutory due"] == lines[0].due_on.isoformat()
    assert [r["case"] for r in rows] == [str(x.case_id) for x in lines]


def test_the_xlsx_has_real_dates_numbers_a_frozen_header_and_filters(demo, tmp_path):
    """The XLSX report has a summary and a detail sheet whose dates are date cells and whose counts
    and case numbers are numbers, each with a frozen header row and filters; the detail has one
    row per overdue span."""
    report = demo.overdue_report(AS_OF)
    book = load_workbook(write_report(report, "xlsx", tmp_path / "r.xlsx", lang="en"))
    assert book.sheetnames == ["Summary", "Overdue spans"]
    detail, summary = book["Overdue spans"], book["Summary"]
    header = [c.value for c in detail[HEAD]]
    first = dict(zip(header, [c.value for c in detail[HEAD + 1]], strict=True))
    assert isinstance(first["statutory due"], dt.datetime) and isinstance(first["working days late"], int)
    assert isinstance(first["case"], int)
    for sheet in (detail, summary):
        assert sheet.freeze_panes == f"A{HEAD + 1}"
        assert sheet.auto_filter.ref
    assert detail.max_row == report.total + HEAD
    assert [c.value for c in summary[HEAD]][1:5] == [f"{b} working days late" for b in BUCKETS]


def test_the_html_report_is_one_self_contained_file_with_a_chart(demo, tmp_path):
    """The HTML report is one file: an inline SVG chart, no script, nothing loaded from the network,
    and a print style."""
    text = write_report(demo.overdue_report(AS_OF), "html", tmp_path / "r.html").read_text()
    assert "<svg" in text and "<script" not in text
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)
    assert "@media print" in text


def test_a_report_into_a_missing_folder_is_refused_and_writes_nothing(demo, tmp_path):
    """A report into a folder that does not exist, or in a format that is not offered (pdf), is
    refused and no file is written."""
    with pytest.raises(InvalidInput, match="does not exist"):
        write_report(demo.overdue_report(AS_OF), "html", tmp_path / "nowhere" / "r.html")
    with pytest.raises(InvalidInput, match="format"):
        write_report(demo.overdue_report(AS_OF), "pdf", tmp_path / "r.pdf")
    assert list(tmp_path.iterdir()) == []


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(not _chromium() and not os.environ.get("CI"),
                    reason="headless Chromium is installed by .ci/run (Debian package chromium)")
def test_the_html_report_opens_in_headless_chromium_without_errors(demo, tmp_path):
    """The report renders in a real browser; the screenshot is kept beside it."""
    assert _chromium(), "CI must install the Debian package chromium"
    page = write_report(demo.overdue_report(AS_OF), "html", tmp_path / "report.html")
    shot = tmp_path / "report.png"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,1600",
             "--enable-logging=stderr", "--v=0"]
    done = subprocess.run([_chromium(), *flags, f"--screenshot={shot}", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    console_errors = [line for line in done.stderr.splitlines()
                      if "CONSOLE" in line or "Uncaught" in line]
    assert console_errors == []
    dom = subprocess.run([_chromium(), *flags, "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    assert f"超期办理报表（截至{AS_OF.year}年{AS_OF.month}月{AS_OF.day}日）" in dom and "<svg" in dom


def test_the_report_command_writes_the_file(demo, tmp_path):
    """`sstransfer report overdue --format xlsx --out FILE` writes the file and says how many
    overdue spans it holds."""
    out = tmp_path / "weekly.xlsx"
    done = subprocess.run(
        ["sstransfer", "--db", str(demo.db.url), "report", "overdue", "--as-of", str(AS_OF),
         "--format", "xlsx", "--out", str(out)],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "PATH": f"{os.path.dirname(os.sys.executable)}:{os.environ['PATH']}"})
    assert done.returncode == 0, done.stderr
    assert out.exists() and "overdue span(s)" in done.stdout


def test_a_report_as_of_an_earlier_date_shows_what_was_late_that_day(demo):
    """A report as of an earlier date lists exactly the spans that had started, were past due and
    were still open on that day."""
    as_of = dt.date(2025, 6, 2)
    early = demo.overdue_report(as_of)
    with demo.db.connect() as conn:
        expected = conn.scalar(sa.text(
            "SELECT COUNT(*) FROM span WHERE (ended_on IS NULL OR ended_on > :d) "
            "AND due_on < :d AND started_on <= :d"), {"d": as_of})
    lines = list(early.lines())
    assert len(lines) == early.total == expected
    assert all(x.started_on <= as_of and x.due_on < as_of for x in lines)


# --- data never becomes code: formulas in a spreadsheet, markup in a page -------------------
# The renderers read a built report (plain data of the core), so these need no database.

#: The header row of an XLSX sheet: below the title row and the issuer's row.
HEAD = 3

FORMULAS = ['=HYPERLINK("http://x","点我")', "+1+1", "-1+1", "@SUM(A1:A2)", "\t=1+1", "\r=1+1"]


def _report_of(name: str, agency_name=name_of) -> OverdueReport:
    """A built report of one overdue span of a person called ``name`` (as an old row might
    hold it), its agency named by ``agency_name``."""
    line = OverdueLine("440300", 1, "pension", name, "440300********123X", "origin_transfer",
                       "origin", dt.date(2025, 10, 8), None, dt.date(2025, 10, 29), 16,
                       "escalated", True, False)
    summary = AgencySummary("440300", buckets={**dict.fromkeys(BUCKETS, 0), "over 15": 1},
                            overdue=1, escalated=1, statutory_breaches=1)
    return OverdueReport(dt.date(2025, 11, 20), dt.date(2025, 11, 14), 5, {"440300": summary}, 1,
                         lambda: iter([line]), agency_name=agency_name)


def test_an_xlsx_sheet_prints_as_agencies_file_it(tmp_path):
    """Each sheet opens with a title row (the report's title and as-of date) and a row naming
    the issuing unit (制表单位) and the day it was made (制表日期); it prints landscape on A4,
    fitted to the page width, the title and header rows repeated on every page, page numbers
    in the footer; 超过法定时限 and 日期暂定 say 是 or 否, never an empty cell."""
    from workflow.core.inputs import today

    report = dataclasses.replace(_report_of("张三"), issuer="440300 深圳市社会保险基金管理局")
    book = load_workbook(write_report(report, "xlsx", tmp_path / "r.xlsx", "zh"))
    made = today()
    for sheet in book.worksheets:
        assert sheet["A1"].value == "超期办理报表（截至2025年11月20日）" and sheet["A1"].font.b
        assert sheet["A2"].value == (f"制表单位：440300 深圳市社会保险基金管理局　　"
                                     f"制表日期：{made.year}年{made.month}月{made.day}日")
        assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.paperSize == 9
        assert sheet.page_setup.fitToWidth == 1 and sheet.page_setup.fitToHeight == 0
        assert sheet.sheet_properties.pageSetUpPr.fitToPage is True
        assert sheet.print_title_rows == f"$1:${HEAD}"
        assert sheet.oddFooter.center.text == "&P / &N"
    detail = book["逾期环节"]
    header = [c.value for c in detail[HEAD]]
    row = [c.value for c in detail[HEAD + 1]]
    assert row[header.index("超过法定时限")] == "是" and row[header.index("日期暂定")] == "否"
    english = load_workbook(write_report(report, "xlsx", tmp_path / "e.xlsx", "en"))
    assert english["Overdue spans"]["A2"].value.startswith("Issued by: 440300")


def test_a_report_names_the_unit_it_covers_as_its_issuer_unless_the_settings_name_one(
        db_url, tmp_path):
    """A supervisor's report is issued by their agency ("440300 深圳市"); `[reports]
    report_issuer` names the unit instead; a report of everything without one leaves the
    unit blank for a stamp."""
    from workflow import Principal

    with Engine(db_url) as engine:
        open_case(engine, destination="440300")
        scoped = engine.desk(Principal("s-1", "supervisor", agency="440300")).overdue_report(
            dt.date(2025, 11, 20))
        assert scoped.issuer == "440300 深圳市"
        assert engine.overdue_report(dt.date(2025, 11, 20)).issuer == ""
    with Engine(db_url, settings=Settings(report_issuer="示例社保局")) as engine:
        assert engine.overdue_report(dt.date(2025, 11, 20)).issuer == "示例社保局"


def test_the_html_report_wears_the_dashboards_styles_names_its_issuer_and_numbers_pages(
        tmp_path):
    """The HTML report is written from a template with the dashboard's own stylesheet (the
    same file, inlined), says who issued it and on which day, and numbers its printed pages
    ("2 / 6" at the foot of each page, landscape A4)."""
    from workflow.core.inputs import today
    from workflow.render import TEMPLATES

    report = dataclasses.replace(_report_of("张三"), issuer="示例社保局")
    page = write_report(report, "html", tmp_path / "r.html").read_text(encoding="utf-8")
    assert (TEMPLATES / "style.css").read_text(encoding="utf-8").strip() in page
    made = today()
    assert f"制表单位：示例社保局　　制表日期：{made.year}年{made.month}月{made.day}日" in page
    assert 'content: counter(page) " / " counter(pages)' in page and "A4 landscape" in page


@pytest.mark.parametrize("name", FORMULAS)
def test_a_name_that_looks_like_a_formula_is_text_in_xlsx_and_neutralised_in_csv(tmp_path, name):
    """OWASP CSV injection: a cell starting with = + - @ tab or CR is written with a leading
    ' in CSV, and as a text cell (never a formula) in XLSX."""
    report = _report_of(name)
    with write_report(report, "csv", tmp_path / "r.csv", "en").open(encoding="utf-8-sig",
                                                                    newline="") as f:
        [row] = list(csv.DictReader(f))
    assert row["person"] == "'" + name
    book = load_workbook(write_report(report, "xlsx", tmp_path / "r.xlsx", "en"))
    sheet = book["Overdue spans"]
    header = [c.value for c in sheet[HEAD]]
    cell = sheet.cell(row=HEAD + 1, column=header.index("person") + 1)
    assert (cell.value, cell.data_type) == (name.replace("\r", "\n"), "s")  # XML reads CR as LF


def test_a_control_character_in_an_old_name_does_not_break_the_xlsx_report(tmp_path):
    """Control characters an XLSX cell cannot hold become U+FFFD; the rest of the name stays."""
    report = _report_of("张\x1b三\x08")
    book = load_workbook(write_report(report, "xlsx", tmp_path / "r.xlsx", "en"))
    header = [c.value for c in book["Overdue spans"][HEAD]]
    cell = book["Overdue spans"].cell(row=HEAD + 1, column=header.index("person") + 1)
    assert cell.value == "张\ufffd三\ufffd"
    assert "张\x1b三" in write_report(report, "csv", tmp_path / "r.csv").read_text(encoding="utf-8-sig")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_name_with_markup_is_escaped_in_the_html_report(tmp_path, lang):
    """HTML escaping stays on in either language: a stored name is text, never markup."""
    page = write_report(_report_of("<b>张三</b>"), "html", tmp_path / "r.html", lang).read_text(
        encoding="utf-8")
    assert "&lt;b&gt;张三&lt;/b&gt;" in page and "<b>张三" not in page


def test_an_agency_name_with_markup_is_escaped_in_the_page_and_the_chart(tmp_path):
    """Every text of the chart (agency labels, tooltips) and of the page is escaped: an agency
    name is text in the HTML report and on the dashboard's overdue board alike."""
    report = _report_of("张三", agency_name=lambda code: '<script>alert("x")</script>')
    escaped = "440300 &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"
    svg = chart_svg(report)
    assert "<script" not in svg and f">{escaped}</text>" in svg and f"<title>{escaped} " in svg
    page = write_report(report, "html", tmp_path / "r.html").read_text(encoding="utf-8")
    in_page = escaped.replace("&quot;", "&#34;")  # the template escapes " as &#34;
    assert "<script" not in page and f"<h3>{in_page}：逾期环节1个</h3>" in page


def test_every_word_of_a_report_comes_from_the_message_catalogue():
    """Headers, sheets, levels and buckets of a report are texts of the report language's
    message catalogue (workflow/locale): no second table in the renderers."""
    for lang, labels in LABELS.items():
        w = words(lang)
        table = {w.gettext(key) for key in w.ids}
        for field, value in vars(labels).items():
            said = value.values() if isinstance(value, dict) else \
                value if isinstance(value, tuple) else [value]
            assert set(said) <= table, (lang, field, set(said) - table)


# --- Chinese first: the words of a report, its agencies and dates ----------------------------

def _csv_rows(report, tmp_path, lang=None) -> list[dict[str, str]]:
    with write_report(report, "csv", tmp_path / "r.csv", lang).open(encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def test_a_report_is_in_chinese_by_default_with_the_definitions_span_titles(demo, tmp_path):
    """Without a language, headers, insurance kinds, owners, levels and span names are in
    Chinese; the span names are the titles of each case's definition version."""
    report = demo.overdue_report(AS_OF)
    rows, lines = _csv_rows(report, tmp_path), list(report.lines())
    assert list(rows[0]) == list(LABELS["zh"].detail)
    for row, x in zip(rows, lines, strict=True):
        d = demo.definition(x.definition, x.definition_version)
        assert row["办理环节"] == d.title("span", x.span, "zh") != x.span
        assert row["险种"] in {"养老保险", "医疗保险"} and row["级别"] in {"逾期", "升级督办"}
        assert row["责任方"] in {"转出地", "转入地", "参保人"}
    assert {r["办理环节"] for r in rows} & {"转入地审核", "转出地办理转移", "转入地接续"}


def test_an_english_report_is_written_on_request(demo, tmp_path):
    """`lang="en"`: the English headers and the definitions' English span titles."""
    report = demo.overdue_report(AS_OF)
    rows = _csv_rows(report, tmp_path, "en")
    assert list(rows[0])[:3] == ["owner agency", "case", "insurance"]
    assert {r["span"] for r in rows} <= {"destination review", "origin transfer",
                                         "destination continuation", "origin transfer-out",
                                         "destination transfer-in",
                                         "premium payment by the person"}
    assert {r["level"] for r in rows} <= {"overdue", "escalated"}
    with pytest.raises(InvalidInput, match="language must be one of zh, en"):
        write_report(report, "csv", tmp_path / "r.csv", "fr")


def test_the_report_language_follows_the_settings(db_url, tmp_path):
    """`[reports] language = "en"` makes English the default of `write_report`."""
    with Engine(db_url, settings=Settings(language="en")) as engine:
        open_case(engine)
        report = engine.overdue_report(dt.date(2025, 11, 20))
        assert report.language == "en"
        assert "owner agency" in _csv_rows(report, tmp_path)[0]


def test_the_overdue_report_names_agencies_by_their_division_name(engine, tmp_path):
    """An agency is shown as its GB/T 2260 code and name ("440300 深圳市") in every format."""
    open_case(engine, destination="440300")
    report = engine.overdue_report(dt.date(2025, 11, 20))
    assert name_of("440300") == "深圳市"
    [row] = _csv_rows(report, tmp_path)
    assert row["经办机构"] == "440300 深圳市"
    page = write_report(report, "html", tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<h3>440300 深圳市：逾期环节1个</h3>" in page
    assert ">440300 深圳市</text>" in page  # the chart
    book = load_workbook(write_report(report, "xlsx", tmp_path / "r.xlsx"))
    assert book["逾期环节"]["A4"].value == book["汇总"]["A4"].value == "440300 深圳市"


def test_a_chinese_report_writes_dates_as_year_month_day(engine, tmp_path):
    """A Chinese report writes dates as 2025年11月20日 (HTML) and shows real XLSX date cells
    so; an English one writes ISO dates; the CSV keeps ISO dates in both, for programs."""
    case = open_case(engine)
    report = engine.overdue_report(dt.date(2025, 11, 20))
    [span] = engine.spans(case.id)
    page = write_report(report, "html", tmp_path / "r.html").read_text(encoding="utf-8")
    assert "超期办理报表（截至2025年11月20日）" in page
    assert f"<td>{span.due_on.year}年{span.due_on.month}月{span.due_on.day}日</td>" in page
    english = write_report(report, "html", tmp_path / "e.html", "en").read_text(encoding="utf-8")
    assert "Overdue report as of 2025-11-20" in english and f"<td>{span.due_on}</td>" in english
    assert _csv_rows(report, tmp_path)[0]["法定办结日期"] == span.due_on.isoformat()
    for lang, shown in (("zh", 'yyyy"年"m"月"d"日"'), ("en", "yyyy-mm-dd")):
        sheet = load_workbook(write_report(report, "xlsx", tmp_path / "r.xlsx", lang)).worksheets[1]
        header = [c.value for c in sheet[HEAD]]
        due = sheet.cell(row=HEAD + 1, column=header.index(LABELS[lang].detail[9]) + 1)
        assert (due.value.date(), due.number_format) == (span.due_on, shown)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_an_xlsx_column_is_at_least_as_wide_as_its_header(demo, tmp_path, lang):
    """Every column of both sheets is at least as wide as its header (a CJK character
    counts two), so no header is cut off when the file is opened."""
    book = load_workbook(write_report(demo.overdue_report(AS_OF), "xlsx", tmp_path / "r.xlsx", lang))
    assert book.sheetnames == list(LABELS[lang].sheets)
    for sheet in book.worksheets:
        for cell in sheet[HEAD]:
            width = sheet.column_dimensions[cell.column_letter].width
            assert width >= display_width(cell.value), (sheet.title, cell.value, width)
