"""Applications from a CSV file, as Chinese back offices write them (UTF-8 with or without
BOM, UTF-16 with BOM, GB18030/GBK), for :meth:`~workflow.engine.Engine.open_cases`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .core.inputs import APPLICATION_FIELDS, parse_date
from .core.textfile import UnknownEncoding, decode_text
from .errors import InvalidInput, InvalidRow

#: The CSV columns: the application's fields, with ``on`` called ``received_on``.
IMPORT_COLUMNS = tuple("received_on" if f == "on" else f for f in APPLICATION_FIELDS)


def read_applications(path: Path | str) -> Iterator[dict[str, Any]]:
    """The applications of a CSV file with a header row, one mapping per line, for
    ``engine.open_cases`` (each carries the ``line`` of the file it starts on).

    Columns: definition, person_id, person_name, origin, destination, applicant, channel,
    documents (separated by ';'), received_on (YYYY-MM-DD; the line's business date), and
    for medical insurance since 2021 origin_scheme and destination_scheme.
    The file is read and decoded at once (refused with one line naming it if it is no text
    in an encoding we read); a malformed line is refused as :class:`InvalidRow` naming it.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"{path} cannot be read: {exc.strerror or exc}") from None
    return parse_applications(data, str(path))


def parse_applications(data: bytes, name: str) -> Iterator[dict[str, Any]]:
    """The applications of a CSV file's bytes (an upload), as :func:`read_applications`
    reads them; ``name`` is the file's name in error messages."""
    path = name
    try:
        text = decode_text(data)
    except UnknownEncoding as exc:
        raise InvalidInput(f"{path} {exc}") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = reader.fieldnames or []
    except csv.Error as exc:
        raise InvalidRow(1, InvalidInput(f"{path} is not a CSV file: {exc}")) from None
    unknown = [c for c in header if c not in IMPORT_COLUMNS]
    if unknown:
        raise InvalidInput(f"{path}, line 1: unknown column(s) {', '.join(unknown)}; "
                           f"columns: {', '.join(IMPORT_COLUMNS)}")
    return _rows(path, reader)


class Application(dict[str, Any]):
    """One application read from a file, with the ``line`` it starts on (for error messages)."""

    line: int


_YES_NO = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def _optional_cells(app: Application, line: int) -> None:
    """Drop the empty cells of optional columns (a scheme: pension, medical v1); read
    ``receiving_employer`` as true or false."""
    for optional in ("origin_scheme", "destination_scheme", "receiving_employer", "agent_name",
                     "agent_id_number"):
        if not app.get(optional, "x").strip():
            del app[optional]
    if "receiving_employer" in app:
        given = app["receiving_employer"].strip().lower()
        if given not in _YES_NO:
            raise InvalidRow(line, InvalidInput(
                f"receiving_employer must be true or false (yes/no, 1/0), not "
                f"{app['receiving_employer']!r}"))
        app["receiving_employer"] = _YES_NO[given]


def _rows(path: str, reader: csv.DictReader[str]) -> Iterator[dict[str, Any]]:
    line = 2
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InvalidRow(line, InvalidInput(f"{path} is not valid CSV here: {exc}")) from None
        # The line the record starts on: a quoted value may hold line breaks.
        line = reader.line_num - sum(v.count("\n") for v in row.values() if isinstance(v, str))
        if None in row:
            raise InvalidRow(line, InvalidInput(
                f"more values than the {len(reader.fieldnames or [])} columns of the header"))
        app = Application({k: v or "" for k, v in row.items()})
        app.line = line
        if "documents" in app:
            app["documents"] = [d for d in app["documents"].split(";") if d.strip()]
        _optional_cells(app, line)
        received = app.pop("received_on", "")
        if received.strip():
            try:
                app["on"] = parse_date(received, "received_on")
            except InvalidInput as exc:
                raise InvalidRow(line, exc) from None
        yield app
        line = reader.line_num + 1


__all__ = ["IMPORT_COLUMNS", "Application", "parse_applications", "read_applications"]
