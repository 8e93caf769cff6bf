"""What every command group shares: the app and its global options, the engine of ``--db``,
the consoles, Rich-markup escaping, the option types, and the entry point that turns a refusal
into one line on stderr (never a traceback)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, overload

import typer

from ..errors import InvalidInput, SettingsError, WorkflowError
from .choices import LogLevel, Role, Shell, complete_document

# Rich, structlog and SQLAlchemy are imported where a command needs them: `sstransfer --help`
# loads typer and this package only (tests/test_cli.py checks it; bench/bench_startup.py times it).
if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.progress import Progress

    from ..core.inputs import Actor
    from ..engine import Engine

try:  # typer vendors click from 0.2x on; older releases depend on it
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover
    from click.exceptions import ClickException  # type: ignore[assignment]  # click's own copy of it


def group(**kwargs: Any) -> typer.Typer:
    """A command group whose help is plain text: brackets such as ``[monitor]`` stay visible."""
    return typer.Typer(no_args_is_help=True, rich_markup_mode=None, **kwargs)


app = group(pretty_exceptions_enable=False, add_completion=False)  # see _main's options


class _LazyConsole:
    """A Rich console made on first use (importing Rich is not free; ``--help`` needs none)."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    @property
    def console(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console

    def forget(self) -> None:
        """The next use makes a new console (one call of :func:`main` is one command)."""
        self._console = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # own attributes not set (a copy): no recursion
            raise AttributeError(name)
        return getattr(self.console, name)


out = _LazyConsole(soft_wrap=True)
err = _LazyConsole(stderr=True, soft_wrap=True)


def progress() -> Progress:
    """A progress bar on a terminal; nothing (not even a blank line) in a pipe or a log."""
    from rich.progress import Progress

    return Progress(console=err.console, transient=True, disable=not err.is_terminal)


class Rows:
    """A table whose ids and dates are never cut (``whole`` columns: never wrapped, never
    shortened with an ellipsis; other columns fold long words rather than hide them). Where the
    width (an 80-column terminal) cannot hold every column without breaking a word, each row is
    printed as a block of ``column: value`` lines instead. Values are shown as typed, never read
    as Rich markup."""

    def __init__(self, title: str, columns: Sequence[str], *, whole: Iterable[str] = (),
                 right: Iterable[str] = (), show_header: bool = True) -> None:
        self.title, self.columns = title, tuple(columns)
        self.whole, self.right, self.show_header = set(whole), set(right), show_header
        unknown = (self.whole | self.right) - set(self.columns)
        if unknown:
            raise ValueError(f"no column {sorted(unknown)}")
        self.rows: list[tuple[str, ...]] = []

    def add(self, *values: object) -> None:
        if len(values) != len(self.columns):
            raise ValueError(f"{len(self.columns)} values expected, not {len(values)}")
        self.rows.append(tuple(map(str, values)))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.table import Table
        from rich.text import Text

        rows = Table(title=self.title, show_header=self.show_header)
        for col in self.columns:
            rows.add_column(col, no_wrap=col in self.whole, overflow="fold",
                            justify="right" if col in self.right else "left")
        for values in self.rows:
            rows.add_row(*map(Text, values))
        if rows.__rich_measure__(console, options).minimum <= options.max_width:
            yield rows
            return
        yield from self._blocks()

    def _blocks(self) -> Iterator[Any]:
        from rich.text import Text

        yield Text(self.title, style="italic")
        for i, values in enumerate(self.rows):
            if i or self.show_header:
                yield Text("")
            for col, value in zip(self.columns, values, strict=True):
                yield Text(f"{col}: {value}", overflow="fold")


def table(title: str, columns: Sequence[str], **options: Any) -> Rows:
    """A :class:`Rows` table to fill with :func:`row` and print with ``out.print``."""
    return Rows(title, columns, **options)


def esc(value: object) -> str:
    """Data (names, documents, paths, messages) printed through Rich: shown, never markup."""
    from rich.markup import escape

    return escape(str(value))


def row(rows: Rows, *values: object) -> None:
    rows.add(*values)


def print_json(data: Any) -> None:
    out.print_json(json.dumps(data, ensure_ascii=False, default=str))


class _Settings:
    """The global options of one call (the app's callback sets them all before any command
    runs), and the engines the call made, closed when it ends."""

    def __init__(self) -> None:
        self.db: str | None = None
        self.definitions: Path | None = None
        self.log_level: int = logging.WARNING
        self.as_json = False
        self._engines: list[Engine] = []

    def engine(self, settings_file: Path | None = None, *, read: bool = False,
               **overrides: Any) -> Engine:
        """The engine of ``--db``; ``read``: a command that only reads refuses a SQLite file
        that does not exist (a typo would otherwise create an empty database)."""
        from ..engine import Engine
        from ..settings import Settings

        if read:
            self.check_exists()
        try:
            loaded = Settings.load(settings_file, **overrides)
        except SettingsError as exc:  # a bad option is named as the user typed it
            if exc.source != "Settings.load()" or not exc.key:
                raise
            raise SettingsError(f"--{exc.key.replace('_', '-')}", None, exc.problem) from None
        engine = Engine(self.db, definitions=self.definitions, settings=loaded)
        self._engines.append(engine)
        return engine

    def check_exists(self) -> None:
        from ..engine import sqlite_file

        path = sqlite_file(self.db)
        if path is not None and not path.exists():
            raise InvalidInput(f"database file {path} does not exist: check --db (a command that "
                               "writes, such as `open` or `db upgrade`, creates it)")

    def close(self) -> None:
        """Close the engines of this call (a process ends with it; a test runs many calls)."""
        while self._engines:
            self._engines.pop().close()


settings = _Settings()


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        out.print(f"sstransfer {version('sstransfer')}")
        raise typer.Exit()


DbOpt = Annotated[str | None, typer.Option(
    "--db", envvar="SSTRANSFER_DATABASE_URL",
    help="Database URL (default: sqlite:///sstransfer.db in this folder).")]
def _json_too(value: bool) -> bool:
    """A command's ``--json``, or the global one given before the command."""
    return value or settings.as_json


JsonOpt = Annotated[bool, typer.Option("--json", callback=_json_too,
                                       help="Print JSON instead of a table.")]
ActorOpt = Annotated[str, typer.Option("--actor", help="Who acts: a user id.")]
RoleOpt = Annotated[Role, typer.Option("--role", help="Who acts.")]
AgencyOpt = Annotated[str | None, typer.Option(
    "--agency", help="The clerk's agency (6-digit division code).")]
OnOpt = Annotated[str | None, typer.Option(
    "--on", help="Business date YYYY-MM-DD (default: today in China).")]
DocsOpt = Annotated[list[str] | None, typer.Option(
    "--document", "-d", autocompletion=complete_document,
    help="A document kind; repeat for several.")]
IdNumberOpt = Annotated[str | None, typer.Option(
    "--actor-id-number", help="Role self: the acting person's own resident ID number.")]
SettingsOpt = Annotated[Path | None, typer.Option(
    "--settings", envvar="SSTRANSFER_SETTINGS", help="TOML settings file ([monitor] table).")]
AsOfOpt = Annotated[str | None, typer.Option(
    "--as-of", help="Business date YYYY-MM-DD (default: today in China).")]


def _completion(action: str) -> Any:
    """The callback of ``--install-completion`` (the current shell, as typer detects it) or
    ``--show-completion SHELL``: typer's own."""
    def callback(ctx: typer.Context, param: Any, value: bool | Shell | None) -> None:
        if not value or ctx.resilient_parsing:
            return
        from typer.completion import install_callback, show_callback

        shell = value if isinstance(value, bool) else value.value
        (install_callback if action == "install" else show_callback)(ctx, param, shell)
    return callback


@app.callback()
def _main(
    db: DbOpt = None,
    definitions: Annotated[Path | None, typer.Option(
        "--definitions", envvar="SSTRANSFER_DEFINITIONS",
        help="Folder of workflow definitions (default: the shipped ones).")] = None,
    log_level: Annotated[LogLevel, typer.Option(
        case_sensitive=False, help="Log events at this level and above go to stderr.")] = LogLevel.warning,
    version: Annotated[bool, typer.Option(
        "--version", is_eager=True, callback=_version, help="Print the version and exit.")] = False,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Every command that can prints JSON instead of a table.")] = False,
    install_completion: Annotated[bool, typer.Option(
        "--install-completion", is_eager=True, expose_value=False, callback=_completion("install"),
        help="Install completion (TAB) for the current shell.")] = False,
    show_completion: Annotated[Shell | None, typer.Option(
        "--show-completion", is_eager=True, expose_value=False, callback=_completion("show"),
        help="Print the completion script for SHELL (to copy it or package it).")] = None,
) -> None:
    """sstransfer: transfers of social insurance between Chinese agencies, as guarded,
    persisted cases with statutory working-day time limits."""
    settings.db, settings.definitions, settings.as_json = db, definitions, as_json
    settings.log_level = logging.getLevelNamesMapping()[log_level.upper()]
    from ..logs import to_stderr

    to_stderr(settings.log_level)


@overload
def date(value: str, what: str = "date") -> dt.date: ...
@overload
def date(value: str | None, what: str = "date") -> dt.date | None: ...
def date(value: str | None, what: str = "date") -> dt.date | None:
    """A date typed as YYYY-MM-DD (see :func:`workflow.core.inputs.parse_date`)."""
    from ..core.inputs import parse_date

    return None if value is None else parse_date(value, what)


def one_of(value: str | None, known: set[str], what: str) -> None:
    """A filter of a read command: a typo is refused, not answered with nothing found."""
    if value is not None and value not in known:
        raise InvalidInput(f"{what} must be one of {', '.join(sorted(known))}, not {value!r}")


def as_actor(actor: str, role: str, agency: str | None, id_number: str | None = None) -> Actor:
    from ..core.inputs import Actor

    return Actor(id=actor, role=str(role), agency=agency, person_id=id_number)


def main() -> None:
    """Entry point: a refused call prints one line on stderr and exits non-zero, never a
    traceback (bad options too: typer's multi-line usage box becomes one line). Each call
    makes its own consoles and closes the engines it made, so calls in one process (the
    tests) do not share them."""
    out.forget()
    err.forget()
    from typer._completion_classes import completion_init  # what add_completion=True calls

    completion_init()  # typer's completion of bash, zsh, fish and PowerShell (TAB)
    try:
        # One name however it was started (`python -m workflow.cli` too): the help, the hints
        # of errors and the shell's completion all name the command the user types.
        code = app(prog_name="sstransfer", standalone_mode=False)
    except WorkflowError as exc:
        _fail("error", exc, 1)
    except OSError as exc:  # a folder that cannot be made, a file that cannot be written
        where = f"{exc.filename}: " if exc.filename else ""
        _fail("error", f"{where}{exc.strerror or exc}", 1)
    except ClickException as exc:
        _usage_error(exc)
    except Exception as exc:
        if not _from_sqlalchemy(exc):
            raise
        orig = str(exc.orig if hasattr(exc, "orig") else exc).splitlines()
        _fail("database error", f"{exc.__class__.__name__}: {orig[0] if orig else ''}", 1)
    finally:
        settings.close()
    sys.exit(code if isinstance(code, int) else 0)


def _usage_error(exc: ClickException) -> None:
    """A bare group shows its help; any other usage error is one line naming the help to read."""
    if type(exc).__name__ == "NoArgsIsHelpError":
        exc.show()
        sys.exit(exc.exit_code)
    ctx = getattr(exc, "ctx", None)
    hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
    # typer words a refused typed choice "Value error, 'x' is not one of ...": the first two
    # words say nothing to a user
    message = exc.format_message().replace("Value error, ", "", 1)
    _fail("error", f"{message}{hint}", exc.exit_code)


def _from_sqlalchemy(exc: BaseException) -> bool:
    """A database error from SQLAlchemy; only asked once SQLAlchemy is loaded (it then is)."""
    loaded = sys.modules.get("sqlalchemy.exc")
    return loaded is not None and isinstance(exc, loaded.SQLAlchemyError)


def _fail(label: str, message: object, code: int) -> None:
    line = " ".join(str(message).split())  # one line, whatever the message held
    err.print(f"[red]{label}:[/] {esc(line)}", highlight=False)
    sys.exit(code)
