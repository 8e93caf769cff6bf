"""GB/T 2260 administrative division codes: which six-digit codes name a real agency, and its name.

The list is the one ``python-stdnum`` ships for resident ID numbers (``stdnum/cn/loc.dat``):
every province, prefecture and county code with its Chinese name and the years it was in
use, kept up to date with each stdnum release. An agency is one of the divisions *in use
now* (a code abolished in, say, 2010 is no agency any more). Codes newer than the installed
list are accepted from an extra list: ``definitions/divisions_extra.yaml`` or the engine's
``extra_divisions`` argument.

Pure: the list is read once from the installed package, nothing else is touched.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import cache
from types import MappingProxyType
from typing import Annotated

from pydantic import BeforeValidator, Field, StringConstraints
from stdnum import numdb

from ..errors import InvalidInput
from .yamlfile import StrictModel, YamlFile

_CODE = re.compile(r"[0-9]{6}")
_PERIOD = re.compile(r"\[(?P<start>[0-9]*)-(?P<end>[0-9]*)\](?P<name>.*)")


@cache
def gb2260() -> Mapping[str, str]:
    """Every division code in use now, with its name, from python-stdnum's list."""
    codes: dict[str, str] = {}
    for _, low, high, _, children in numdb.get("cn/loc").prefixes:
        for _, sub_low, sub_high, props, _ in children:
            name = _current_name(props.get("county", ""))
            if name is None:
                continue
            for prefix in range(int(low), int(high) + 1):
                for sub in range(int(sub_low), int(sub_high) + 1):
                    codes[f"{prefix:02d}{sub:04d}"] = name
    return MappingProxyType(codes)


def _current_name(county: str) -> str | None:
    """The name in use now among a code's names (``[1983-2005]东山区,[2005-]…``), if any."""
    for entry in county.split(","):
        period = _PERIOD.fullmatch(entry)
        if period is None:
            return entry or None  # no years: in use since before the list begins
        if not period["end"]:
            return period["name"]
    return None


class Divisions(Mapping[str, str]):
    """The division codes an agency may have: GB/T 2260 plus codes newer than the list.

    ``extra`` maps codes to names; a code in both keeps the extra name (a renamed division).
    """

    def __init__(self, extra: Mapping[str, str] | None = None) -> None:
        extra = dict(extra or {})
        for code, name in extra.items():
            if not isinstance(code, str) or not _CODE.fullmatch(code):
                raise InvalidInput(f"an extra division code must be 6 digits, not {code!r}")
            if not isinstance(name, str) or not name.strip():
                raise InvalidInput(f"extra division {code} needs a name")
        self._extra = MappingProxyType({c: n.strip() for c, n in extra.items()})

    @property
    def extra(self) -> Mapping[str, str]:
        return self._extra

    def __getitem__(self, code: str) -> str:
        if code in self._extra:
            return self._extra[code]
        return gb2260()[code]

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and (code in self._extra or code in gb2260())

    def __iter__(self) -> Iterator[str]:
        yield from self._extra
        yield from (c for c in gb2260() if c not in self._extra)

    def __len__(self) -> int:
        return len(gb2260()) + sum(1 for c in self._extra if c not in gb2260())

    def name_of(self, code: str) -> str | None:
        """The division's name (``'440300'`` → ``'深圳市'``), or None for an unknown code."""
        return self.get(code) if code in self else None


STANDARD = Divisions()


def name_of(code: str) -> str | None:
    """The GB/T 2260 name of a division code in use, or None."""
    return STANDARD.name_of(code)


# YAML reads an unquoted 310199 as a number: a division code is its digits either way.
_DivisionCode = Annotated[str, BeforeValidator(lambda v: str(v) if type(v) is int else v),
                          StringConstraints(pattern=r"^[0-9]{6}$")]


_DivisionName = Annotated[str, StringConstraints(min_length=1)]


class _ExtraDivisionsModel(StrictModel):
    divisions: dict[_DivisionCode, _DivisionName] = Field(default_factory=dict)


def parse_extra_divisions(doc: YamlFile) -> dict[str, str]:
    """``divisions_extra.yaml``: division codes newer than the GB/T 2260 list, code → name."""
    return dict(doc.validate(_ExtraDivisionsModel).divisions)


__all__ = ["STANDARD", "Divisions", "gb2260", "name_of", "parse_extra_divisions"]
