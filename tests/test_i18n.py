"""The words people read come from gettext catalogues (Babel), one ``.po`` per language, and
every refusal has a code, parameters and words in each language (issue 21, "Chinese all the
way")."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import jinja2.ext
import pytest
from babel.messages.extract import extract, extract_python

from workflow import errors as e
from workflow import i18n
from workflow.core.words import LANGUAGES

ROOT = Path(i18n.__file__).parent
TEMPLATES = [*ROOT.glob("api/templates/*.html"), *ROOT.glob("render/templates/*.html")]
_VALUE = re.compile(r"%\((\w+)\)[sd]")


def _texts(lang: str) -> dict[str, tuple[str, ...]]:
    """Each message id of a catalogue and its text(s) (a plural message has one per form)."""
    return {m.id if isinstance(m.id, str) else m.id[0]:
            (m.string,) if isinstance(m.string, str) else tuple(m.string)
            for m in i18n.catalogue(lang) if m.id}


def test_every_message_id_has_a_chinese_and_an_english_text_with_the_same_values():
    """Issue 21: "a test that every message id has a Chinese and an English text". Both
    catalogues hold the same ids, each with a non-empty text (every plural form) that fills
    in the same ``%(name)s`` values (a plural's count, ``%(num)d``, may be left out of the
    singular)."""
    zh, en = _texts("zh"), _texts("en")
    assert set(zh) == set(en) and len(zh) > 300
    for key in zh:
        for text in (*zh[key], *en[key]):
            assert text.strip(), key
        wanted = set(_VALUE.findall(zh[key][0])) - {"num"}
        for text in en[key]:
            assert set(_VALUE.findall(text)) - {"num"} == wanted, key


def test_the_catalogues_are_po_files_in_the_package_read_at_run_time():
    """Each language's catalogue is ``workflow/locale/<locale>/LC_MESSAGES/messages.po``
    (package data: a checkout installed with ``pip install -e .`` reads it, no build step),
    its plural rule the language's own: one form in Chinese, two in English."""
    for lang in LANGUAGES:
        path = i18n.catalogue_path(lang)
        assert path.is_file() and path.is_relative_to(ROOT / "locale")
    assert i18n.catalogue("zh").num_plurals == 1 and i18n.catalogue("en").num_plurals == 2


def _used_ids() -> set[str]:
    """The message ids the templates (``_()``, ``gettext()``, ``ngettext()``, as ``pybabel
    extract`` finds them) and the code (``.text()``, ``.plural()``, ``.t()``, ``w[...]``)
    name literally."""
    used: set[str] = set()
    for template in TEMPLATES:
        with template.open("rb") as f:
            for _, message, _, _ in extract(jinja2.ext.babel_extract, f):
                used.update([message] if isinstance(message, str) else message[:1])
    keywords = {"text": None, "plural": None, "t": None, "gettext": None}
    for source in ROOT.rglob("*.py"):
        with source.open("rb") as f:
            for _, funcname, message, _ in extract_python(f, keywords, [], {}):
                if isinstance(message, str) and re.fullmatch(r"[a-z][a-z0-9_]*", message):
                    used.add(message)
                del funcname
        used.update(re.findall(r'\bw\["([a-z][a-z0-9_]*)"\]', source.read_text("utf-8")))
    return used


def test_the_templates_and_the_code_use_no_message_id_missing_from_the_catalogues():
    """Every id the templates and the code name is in the catalogues (a typo would be a
    KeyError on a page), and the templates go through ``jinja2.ext.i18n``: no word table
    (``w.``/``t(``) is left in them."""
    used = _used_ids()
    assert {"inbox_title", "inbox_count", "progress_title", "report_chart", "refused_stale",
            "title_workflow_error"} <= used
    missing = used - i18n.words("zh").ids
    assert not missing, sorted(missing)
    for template in TEMPLATES:
        text = template.read_text("utf-8")
        assert not re.search(r"{{[^}]*\b(w\.|w\[|t\()", text), template.name


@pytest.mark.parametrize("cls", sorted(e.KINDS.values(), key=lambda c: c.__name__))
def test_every_error_kind_has_a_stable_code_a_title_and_words_in_both_languages(cls):
    """Each kind's ``code`` is its class name in snake case (the codes the API has always
    returned), and both catalogues have its title and its words."""
    assert cls.code == re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()
    for lang in LANGUAGES:
        w = i18n.words(lang)
        assert f"title_{cls.code}" in w and f"error_{cls.code}" in w, (lang, cls.code)


#: One refusal of each kind, as the engine raises them (English messages).
REFUSALS: list[e.WorkflowError] = [
    e.InvalidInput("business date 2025-09-01 is before case 3's last step on 2025-09-26",
                   field="on", reason="before_last_step", last="2025-09-26"),
    e.InvalidInput("explanation must be non-empty text", field="explanation"),
    e.InvalidInput("something malformed"),
    e.RequiredCaseMissing("card_application can be opened only for a person whose "
                          "pension_transfer to agency 440300 is continued; this person has none",
                          field="person_id", reason="required_case_missing", agency="440300"),
    e.CaseNotFound(7), e.PaperNotFound(9), e.NotFound("no event 3"),
    e.DefinitionNotFound("no definition 'x'"),
    e.InvalidTransition(3, "move_funds", "applied", ["review", "reject"]),
    e.InvalidTransition(3, "review", "continued", []),
    e.MissingDocuments("review", [("id_card", "ID card")]),
    e.NotPermitted("a supervisor may not fire 'review'", may_act=[("destination_clerk", "440300")],
                   trigger="review"),
    e.NotPermitted("only a supervisor reads the access log", may_act=[("supervisor", None)]),
    e.NotPermitted("clerk c-1 may not read case 3"),
    e.ConcurrentUpdate(3, 2), e.TransferAlreadyRunning("pension", "31000020250926000017", "applied",
                                                      "310000", "440300"),
    e.TransferAlreadyRunning("medical"), e.DefinitionError("x.yaml", "bad", 3),
    e.SettingsError("s.toml", "api.port", "must be a number"), e.DefinitionChanged("edited"),
    e.InvalidRow(3, e.CaseNotFound(7)), e.SchemaMismatch("old"),
    e.StorageUnavailable("disk full"), e.StorageBusy("locked"), e.LeaseLost("taken"),
    e.NotAuthenticated("no token"), e.RateLimited("too many", 60), e.OutdatedLibrary("old"),
]


@pytest.mark.parametrize("error", REFUSALS, ids=lambda x: f"{x.code}:{x}"[:60])
def test_a_refusal_is_put_in_words_from_its_code_and_parameters_never_its_english_message(
        error):
    """:func:`workflow.i18n.explain` words a refusal from its code and parameters: in
    Chinese, Chinese words and none of the engine's English message; in English, words of
    the English catalogue."""
    assert error.code in e.KINDS
    zh = i18n.explain(error, "zh")
    assert re.search(r"[\u4e00-\u9fff]", zh) and str(error) not in zh, zh
    assert not re.search(r"\b(may not|needs|must be|is before|does not exist)\b", zh), zh
    en = i18n.explain(error, "en")
    assert en and not re.search(r"[\u4e00-\u9fff]", en) and "%(" not in en and "%(" not in zh


def test_an_invalid_input_names_its_field_and_reason_in_its_parameters():
    """Bad input carries the input at fault (``field``) and what is wrong with it, the
    parameters the API returns as ``details`` and the catalogues fill in (dates in the
    language's form)."""
    error = e.InvalidInput("...", field="on", reason="before_last_step", last="2025-09-26")
    assert error.params == {"field": "on", "reason": "before_last_step", "last": "2025-09-26"}
    assert i18n.explain(error, "zh") == "办理日期不能早于本案件上一次办理的日期（2025年9月26日）。"


def test_counts_are_plural_forms_not_day_s():
    """Issue 21: "plural forms instead of 'day(s)'": no English text says "(s)"; one day is
    a day, two are days; Chinese has one form."""
    assert not [k for k, texts in _texts("en").items() for t in texts if "(s)" in t]
    en, zh = i18n.words("en"), i18n.words("zh")
    assert en.plural("level_overdue", 1) == "overdue 1 working day"
    assert en.plural("level_overdue", 2) == "overdue 2 working days"
    assert zh.plural("level_overdue", 2) == "逾期2个工作日"


def test_dates_are_written_through_babel_in_each_language():
    """Issue 21: "dates through babel.dates": the Chinese long form, ISO in English, a dash
    for none."""
    day = dt.date(2025, 10, 23)
    assert i18n.format_date(day, "zh") == "2025年10月23日"
    assert i18n.format_date(day, "en") == "2025-10-23"
    assert i18n.format_date(None, "zh") == "–"


@pytest.mark.parametrize(("header", "lang"), [
    (None, "zh"), ("", "zh"), ("en", "en"), ("en-US,en;q=0.9", "en"), ("zh-CN", "zh"),
    ("fr, en;q=0.5", "en"), ("en;q=0.2, zh-TW;q=0.8", "zh"), ("fr", "zh"), ("en;q=0", "zh"),
    ("*", "zh"), ("en;q=x", "zh")])
def test_accept_language_picks_the_best_language_offered_chinese_by_default(header, lang):
    """The API's language: the most preferred of zh and en that ``Accept-Language`` accepts
    (quality values respected, q=0 refused), Chinese when it names neither."""
    assert i18n.negotiate(header) == lang
