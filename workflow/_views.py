"""Read-only views of stored rows, printable as JSON."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any


def _plain(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


class _View:
    @classmethod
    def from_row(cls, row: Any, **overrides: Any):
        """The view of a stored row: its fields by name, some of them converted."""
        return cls(**{f.name: overrides[f.name] if f.name in overrides else getattr(row, f.name)
                      for f in dataclasses.fields(cls)})

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)
                if f.repr}
