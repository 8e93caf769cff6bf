"""Committed limits (承诺时限, ``definitions/committed_limits.yaml``): an agency's or a
province's own, shorter limit for a span, checked against the definitions it names.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import Field, field_validator, model_validator

from .definitions import Definition
from .schema import SpanSpec
from .yamlfile import StrictModel, YamlFile


class _Commitment(StrictModel):
    """An agency's own limit (承诺时限) for one span, shorter than the statute's."""

    definition: str
    version: int | None = Field(default=None, ge=1)  # None: every version with this span
    span: str
    agency: str | None = Field(default=None, pattern=r"^\d{6}$")
    province: str | None = Field(default=None, pattern=r"^\d{2}$")
    working_days: int = Field(ge=1, le=365)
    source: str = Field(min_length=1, description="where the agency published it")

    @field_validator("agency", "province", mode="before")
    @classmethod
    def _code_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _one_place(self) -> _Commitment:
        if (self.agency is None) == (self.province is None):
            raise ValueError("give exactly one of agency (6 digits) and province (2 digits)")
        return self


class _CommitmentsModel(StrictModel):
    commitments: tuple[_Commitment, ...] = ()


@dataclass(frozen=True)
class CommittedLimits:
    """Committed limits per span for an agency code or a province prefix; an agency's own
    entry wins over its province's, a version's own over one for every version."""

    entries: tuple[_Commitment, ...] = ()

    @classmethod
    def parse(cls, doc: YamlFile, definitions: Iterable[Definition]) -> CommittedLimits:
        """Check the file against the definitions: each names a known definition and
        working-day span, says it once, and is not above the statutory limit."""
        model = doc.validate(_CommitmentsModel)
        definitions = list(definitions)
        seen: dict[tuple[Any, ...], int] = {}
        for i, c in enumerate(model.commitments):
            loc = ("commitments", i)
            key = (c.definition, c.version, c.span, c.agency, c.province)
            if key in seen:
                first = doc.line_of(("commitments", seen[key]))
                raise doc.fail(f"a second commitment for {c.span} of {c.agency or c.province} "
                               f"(the first is on line {first})", loc)
            seen[key] = i
            versions = [d for d in definitions if d.name == c.definition
                        and c.version in (None, d.version)]
            if not versions:
                raise doc.fail(f"no definition {c.definition}"
                               + (f" version {c.version}" if c.version else ""), (*loc, "definition"))
            specs = [(d, found) for d in versions if (found := d.span(c.span)) is not None]
            if not specs:
                raise doc.fail(f"{c.definition} has no span '{c.span}'", (*loc, "span"))
            for d, spec in specs:
                if spec.committed_only:  # the commitment is its only limit
                    continue
                if spec.limit_working_days is None:
                    raise doc.fail(f"span '{c.span}' counts calendar months, not working days",
                                   (*loc, "span"))
                if c.working_days > spec.limit_working_days:
                    raise doc.fail(
                        f"committed limit of {c.working_days} working days for {c.span} is above "
                        f"the statutory {spec.limit_working_days} of {d.name} version {d.version}",
                        (*loc, "working_days"))
        return cls(model.commitments)

    def limit(self, definition: Definition, span: SpanSpec, agency: str) -> int | None:
        """The committed limit in working days for ``agency``'s span, if it has one."""
        statutory = span.limit_working_days
        if statutory is None and not span.committed_only:
            return None
        best: tuple[int, int] | None = None
        for c in self.entries:
            if (c.definition != definition.name or c.version not in (None, definition.version)
                    or c.span != span.name
                    or (statutory is not None and c.working_days > statutory)):
                continue
            if c.agency == agency or (c.province is not None and agency.startswith(c.province)):
                rank = (c.agency is not None) * 2 + (c.version is not None)
                if best is None or rank > best[0]:
                    best = (rank, c.working_days)
        return None if best is None else best[1]


__all__ = ["CommittedLimits"]
