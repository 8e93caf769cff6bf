"""The words people read, from gettext message catalogues (Babel), Chinese first.

The catalogues are ``locale/<locale>/LC_MESSAGES/messages.po`` inside the package, one per
language of :data:`~workflow.core.words.LANGUAGES` (``zh`` is ``zh_CN``); they are read from
the ``.po`` files at run time (no build step: a checkout installed with ``pip install -e .``
has them). Message ids are keys (``inbox_title``), so every id has a text in every
catalogue; a sentence's values are ``%(name)s`` and a count is ``%(num)d`` of a plural
message (``ngettext(key, key + "_plural", n)``). The dashboard, the progress page and the
reports read them through :func:`words`, their templates through ``jinja2.ext.i18n``
(:func:`install`), and every refusal of the engine is put in words by :func:`explain`.
"""

from __future__ import annotations

import datetime as dt
import functools
import gettext
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import overload

import jinja2
from babel.dates import format_date as babel_format_date
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from . import errors as e
from .core.words import LANGUAGES

#: Where the catalogues are, and the locale of each language.
LOCALE_DIR = Path(__file__).parent / "locale"
LOCALES = {"zh": "zh_CN", "en": "en"}
#: The catalogues' domain (``messages.po``).
DOMAIN = "messages"


def catalogue_path(lang: str) -> Path:
    return LOCALE_DIR / LOCALES[lang] / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def catalogue(lang: str) -> Catalog:
    """The catalogue of ``lang`` as Babel reads it from its ``.po`` file."""
    with catalogue_path(lang).open("rb") as f:
        return read_po(f, locale=LOCALES[lang], domain=DOMAIN)


@functools.cache
def words(lang: str) -> Words:
    """Every word in ``lang`` (``zh`` or ``en``)."""
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {lang!r}")
    return Words(lang, catalogue(lang))


class Words:
    """The words of one language: ``w[key]``, ``w.text(key, **values)``,
    ``w.plural(key, n, **values)``; a key the catalogue lacks is a ``KeyError``."""

    def __init__(self, lang: str, found: Catalog) -> None:
        self.lang = lang
        buffer = io.BytesIO()
        write_mo(buffer, found)
        buffer.seek(0)
        self._translations = gettext.GNUTranslations(buffer)
        self.ids = frozenset(m.id if isinstance(m.id, str) else m.id[0] for m in found if m.id)

    def __contains__(self, key: object) -> bool:
        return key in self.ids

    def gettext(self, key: str) -> str:
        if key not in self.ids:
            raise KeyError(key)
        return self._translations.gettext(key)

    def ngettext(self, key: str, plural: str, n: int) -> str:
        if key not in self.ids:
            raise KeyError(key)
        return self._translations.ngettext(key, plural, n)

    def __getitem__(self, key: str) -> str:
        return self.text(key)

    @overload
    def get(self, key: str, default: str) -> str: ...

    @overload
    def get(self, key: str, default: None = None) -> str | None: ...

    def get(self, key: str, default: str | None = None) -> str | None:
        """The message ``key`` (no values to fill in), else ``default``."""
        return self.text(key) if key in self.ids else default

    def text(self, key: str, /, **values: object) -> str:
        """The message ``key`` with its ``%(name)s`` filled in."""
        return self.gettext(key) % values

    def plural(self, key: str, n: int, /, **values: object) -> str:
        """The plural message ``key`` for the count ``n`` (its ``%(num)d``)."""
        return self.ngettext(key, f"{key}_plural", n) % {"num": n, **values}


def format_date(day: dt.date | None, lang: str) -> str:
    """A date as people read it: 2026年11月24日 in Chinese (the locale's long form), ISO
    2026-11-24 in English; an en dash for no date. The one format of reports, dashboard and
    progress page."""
    if day is None:
        return "–"
    return babel_format_date(day, "long" if lang == "zh" else "yyyy-MM-dd", locale=LOCALES[lang])


def install(env: jinja2.Environment) -> None:
    """``jinja2.ext.i18n`` in ``env``: ``_()``, ``gettext()`` and ``ngettext()`` in the
    language of the template's ``lang`` (new style: ``_("key", name=value)``, autoescaped)."""
    env.add_extension("jinja2.ext.i18n")

    @jinja2.pass_context
    def _gettext(ctx: jinja2.runtime.Context, key: str) -> str:
        return words(ctx["lang"]).gettext(key)

    @jinja2.pass_context
    def _ngettext(ctx: jinja2.runtime.Context, key: str, plural: str, n: int) -> str:
        return words(ctx["lang"]).ngettext(key, plural, n)

    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]


# --- refusals -----------------------------------------------------------------------------------
#: Names a coded value for people: ``(kind, value) -> words``; kinds ``trigger``, ``state``,
#: ``document``, ``role``, ``agency``, ``field``.
Namer = Callable[[str, str], str]
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def explain(error: e.WorkflowError, lang: str, name: Namer | None = None) -> str:
    """A refusal in ``lang``, from its ``code`` and ``params`` (never ``str(error)``): the
    values named by ``name`` (the dashboard names steps, states and documents by their
    titles; by default roles by their words, everything else by its code)."""
    w = words(lang)
    namer = name or (lambda kind, value: w.get(f"{kind}_{value}", value))
    listed = w["list_and"]

    def named(kind: str, value: object) -> str:
        return namer(kind, str(value))

    p = error.params
    if isinstance(error, e.InvalidInput) and not isinstance(error, e.DefinitionNotFound):
        return _invalid_input(error, w, named)
    if isinstance(error, e.MissingDocuments):
        return w.text("error_missing_documents", trigger=named("trigger", error.trigger),
                      missing=listed.join(named("document", k) for k in error.kinds))
    if isinstance(error, e.InvalidTransition):
        state = named("state", error.state)
        if not error.allowed:
            return w.text("error_invalid_transition_closed", state=state)
        return w.text("error_invalid_transition", state=state,
                      trigger=named("trigger", error.trigger),
                      allowed=listed.join(named("trigger", t) for t in error.allowed))
    if isinstance(error, e.NotPermitted) and error.may_act:
        who = w["list_or"].join(
            w.text("role_at", role=named("role", role), agency=named("agency", agency))
            if agency else named("role", role) for role, agency in error.may_act)
        if error.trigger:
            return w.text("error_not_permitted_who", trigger=named("trigger", error.trigger),
                          who=who)
        return w.text("error_not_permitted_only", who=who)
    if isinstance(error, e.TransferAlreadyRunning):
        return _running(error, w, named)
    if isinstance(error, e.InvalidRow):
        inner = error.error
        said = explain(inner, lang, name) if isinstance(inner, e.WorkflowError) \
            else w["error_invalid_input"]
        return w.text("error_invalid_row", line=error.line, error=said)
    return w.text(f"error_{error.code}", **p)


def _invalid_input(error: e.InvalidInput, w: Words, named: Callable[[str, object], str]) -> str:
    """Bad input: the field at fault and what is wrong with it (dates in the language's form)."""
    field = named("field", error.field) if error.field else ""
    values = {k: format_date(dt.date.fromisoformat(v), w.lang)
              if isinstance(v, str) and _ISO_DATE.fullmatch(v) else v
              for k, v in error.values.items()}
    if error.reason and f"error_invalid_input_{error.reason}" in w:
        return w.text(f"error_invalid_input_{error.reason}", field=field, **values)
    return w.text("error_invalid_input_field", field=field) if field \
        else w["error_invalid_input"]


def _running(error: e.TransferAlreadyRunning, w: Words,
             named: Callable[[str, object], str]) -> str:
    """The person's running transfer of that insurance: its number, state and agencies."""
    insurance = w.get(f"insurance_{error.insurance}", str(error.insurance or ""))
    if error.public_number is None:
        return w.text("error_transfer_already_running_now", insurance=insurance)
    return w.text("error_transfer_already_running", insurance=insurance,
                  public_number=error.public_number, state=named("state", error.state or ""),
                  origin=named("agency", error.origin or ""),
                  destination=named("agency", error.destination or ""))


def title(error: e.WorkflowError | str, lang: str) -> str:
    """The short title of a kind of refusal (the problem's ``title``) in ``lang``."""
    code = error if isinstance(error, str) else error.code
    w = words(lang)
    return w.get(f"title_{code}", w["title_workflow_error"])


def negotiate(accept_language: str | None, default: str = LANGUAGES[0]) -> str:
    """The language of an ``Accept-Language`` header (``zh-CN``, ``en;q=0.8``, ...): the best
    of :data:`LANGUAGES` it accepts, else ``default``."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, rest = part.strip().partition(";")
        quality = 1.0
        q = rest.strip()
        if q.startswith("q="):
            try:
                quality = float(q[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, i, primary))
        elif primary == "*" and quality > 0:
            ranked.append((-quality, i, default))
    return min(ranked)[2] if ranked else default


__all__ = ["DOMAIN", "LOCALES", "LOCALE_DIR", "Namer", "Words", "catalogue", "catalogue_path",
           "explain", "format_date", "install", "negotiate", "title", "words"]

