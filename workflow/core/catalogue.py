"""The document catalogue (``definitions/documents.yaml``): every kind of document a transfer
may need, named once, in Chinese and in English. Definitions name kinds; the catalogue says
which exist and what people read for each.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pydantic import Field

from ..errors import InvalidInput
from .words import LANGUAGES
from .yamlfile import StrictModel, YamlFile


class _DocumentKind(StrictModel):
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class _CatalogueModel(StrictModel):
    documents: dict[str, _DocumentKind] = Field(min_length=1)


@dataclass(frozen=True)
class DocumentCatalogue:
    """Every document kind, named once with its Chinese and English names."""

    kinds: Mapping[str, _DocumentKind]

    @classmethod
    def parse(cls, doc: YamlFile) -> DocumentCatalogue:
        return cls(doc.validate(_CatalogueModel).documents)

    def name(self, kind: str) -> str:
        return self.kinds[kind].en

    def title(self, kind: str, lang: str = LANGUAGES[0]) -> str:
        """A document kind's name in ``lang`` (``zh`` or ``en``), as definitions title theirs."""
        if lang not in LANGUAGES:
            raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {lang!r}")
        return str(getattr(self.kinds[kind], lang))

    def describe(self, kinds: Iterable[str]) -> list[tuple[str, str]]:
        return [(k, self.name(k)) for k in kinds]

    def check(self, kinds: Iterable[str], what: str = "document") -> tuple[str, ...]:
        """Refuse unknown kinds with the list of known ones; return them de-duplicated."""
        kinds = tuple(dict.fromkeys(kinds))
        unknown = [k for k in kinds if k not in self.kinds]
        if unknown:
            raise InvalidInput(
                f"unknown {what} kind(s): {', '.join(map(str, unknown))}; "
                f"known kinds: {', '.join(self.kinds)}"
            )
        return kinds


__all__ = ["DocumentCatalogue"]
