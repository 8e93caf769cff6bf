"""sstransfer's log: structlog events written to the standard :mod:`logging` module under the
``sstransfer`` logger (``sstransfer.access`` for the access service).

A library prints nothing its host did not ask for: the ``sstransfer`` logger has a
``NullHandler``, so an application that configures no logging sees nothing, and an event its
logger would not emit is dropped before any processor runs (it costs next to nothing). An
application that configures logging (``logging.basicConfig(level=logging.INFO)``, or a
handler on ``sstransfer``) sees the events, rendered by structlog's processors as its global
configuration has them. The command line and ``sstransfer serve`` configure this for
themselves with :func:`to_stderr`.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

#: The logger every sstransfer event goes to (or one below it).
ROOT = "sstransfer"
logging.getLogger(ROOT).addHandler(logging.NullHandler())


class Logger:
    """sstransfer's logger of one name: each event is checked against the standard logger's
    level first and dropped there if it would not be emitted (no processor runs). structlog
    is imported with the first event that is emitted, not with the engine: ``import
    structlog`` imports Rich when it is installed (about 5 MB of memory a process that never
    shows an event does without)."""

    __slots__ = ("_bound", "_context", "_std")

    def __init__(self, name: str, context: dict[str, Any] | None = None) -> None:
        self._std = logging.getLogger(name)
        self._context = context or {}
        self._bound: Any = None

    def _emit(self, level: int, method: str, event: str, kw: dict[str, Any]) -> None:
        if not self._std.isEnabledFor(level):
            return
        if self._bound is None:
            import structlog

            self._bound = structlog.wrap_logger(
                self._std, wrapper_class=structlog.stdlib.BoundLogger, **self._context)
        getattr(self._bound, method)(event, **kw)

    def bind(self, **context: Any) -> Logger:
        """This logger with ``context`` added to each of its events."""
        return Logger(self._std.name, {**self._context, **context})

    def debug(self, event: str, **kw: Any) -> None:
        self._emit(logging.DEBUG, "debug", event, kw)

    def info(self, event: str, **kw: Any) -> None:
        self._emit(logging.INFO, "info", event, kw)

    def warning(self, event: str, **kw: Any) -> None:
        self._emit(logging.WARNING, "warning", event, kw)

    def error(self, event: str, **kw: Any) -> None:
        self._emit(logging.ERROR, "error", event, kw)

    def exception(self, event: str, **kw: Any) -> None:
        self._emit(logging.ERROR, "exception", event, kw)


def get_logger(name: str = ROOT) -> Logger:
    """The logger of ``name`` (``sstransfer`` or below): structlog events written to the
    standard logger of that name, processed by structlog's configured processors."""
    return Logger(name)


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of the event (a test, or the CLI
    run in-process, may swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def to_stderr(level: int) -> None:
    """Show sstransfer's events from ``level`` up on standard error (what the command line
    and ``serve`` do for their own process); called again, it only changes the level."""
    log = logging.getLogger(ROOT)
    log.setLevel(level)
    if not any(isinstance(h, _Stderr) for h in log.handlers):
        handler = _Stderr()
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
    log.propagate = False  # shown once, not again by a handler of the root logger


#: A query parameter whose value is (part of) an ID number, by its name; and a value that
#: looks like a whole ID number, whatever its parameter.
_SECRET_PARAMETER = re.compile(r"(?i)((?:^|&)[^&=]*(?:person_id|id_number)[^&=]*=)[^&]*")
_ID_LIKE = re.compile(r"(?i)(?<![0-9])[0-9]{17}[0-9x](?![0-9])")


def hide_query_values(path: str) -> str:
    """A request's path as a request log may show it: the values of ID-number parameters
    (``person_id``, ``person_id_ending``, ...) and anything shaped like an ID number hidden."""
    where, mark, query = path.partition("?")
    if not mark:
        return path
    hidden = _ID_LIKE.sub("***", _SECRET_PARAMETER.sub(r"\1***", query))
    return f"{where}?{hidden}"


class RequestLines(logging.Filter):
    """Hides ID numbers in uvicorn's request lines (``sstransfer serve --request-log``): its
    record's third argument is the path with the query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], hide_query_values(args[2]), *args[3:])
        return True


#: The filter :func:`hide_ids_in_request_lines` puts on uvicorn's request log (once).
REQUEST_LINES = RequestLines()


def hide_ids_in_request_lines() -> None:
    """Put :data:`REQUEST_LINES` on uvicorn's request log (``uvicorn.access``); idempotent."""
    logging.getLogger("uvicorn.access").addFilter(REQUEST_LINES)


__all__ = ["REQUEST_LINES", "ROOT", "Logger", "RequestLines", "get_logger", "hide_ids_in_request_lines",
           "hide_query_values", "to_stderr"]
