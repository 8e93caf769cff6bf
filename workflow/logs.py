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

import structlog

#: The logger every sstransfer event goes to (or one below it).
ROOT = "sstransfer"
logging.getLogger(ROOT).addHandler(logging.NullHandler())


class _Gated(structlog.stdlib.BoundLogger):
    """A bound logger that drops an event before any processor runs (no rendering, no
    timestamp) when its standard logger would not emit it at that level."""

    def _proxy_to_logger(self, method_name: str, event: str | None = None,
                         *event_args: Any, **event_kw: Any) -> Any:
        level = logging.getLevelNamesMapping().get(method_name.upper())
        if level is not None and not self._logger.isEnabledFor(level):
            return None
        return super()._proxy_to_logger(method_name, event, *event_args, **event_kw)


class _Logger:
    """A module's logger: ``debug``/``info``/``warning``/``error`` check the standard logger's
    level first, so an event nobody shows costs one dictionary look-up (structlog's lazy proxy
    would bind a new logger for every call before :class:`_Gated` drops it); anything else
    (``bind``, ...) is structlog's."""

    __slots__ = ("_std", "_structlog")

    def __init__(self, name: str) -> None:
        self._std = logging.getLogger(name)
        self._structlog = structlog.wrap_logger(self._std, wrapper_class=_Gated)

    def debug(self, event: str, **kw: Any) -> Any:
        if self._std.isEnabledFor(logging.DEBUG):
            return self._structlog.debug(event, **kw)
        return None

    def info(self, event: str, **kw: Any) -> Any:
        if self._std.isEnabledFor(logging.INFO):
            return self._structlog.info(event, **kw)
        return None

    def warning(self, event: str, **kw: Any) -> Any:
        if self._std.isEnabledFor(logging.WARNING):
            return self._structlog.warning(event, **kw)
        return None

    def error(self, event: str, **kw: Any) -> Any:
        if self._std.isEnabledFor(logging.ERROR):
            return self._structlog.error(event, **kw)
        return None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._structlog, name)


def get_logger(name: str = ROOT) -> Any:
    """The structlog logger of ``name`` (``sstransfer`` or below), writing to the standard
    logger of that name; processors are structlog's configured ones."""
    return _Logger(name)


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


__all__ = ["REQUEST_LINES", "ROOT", "RequestLines", "get_logger", "hide_ids_in_request_lines",
           "hide_query_values", "to_stderr"]
