"""The definition versions cases run on: those of the folder, and older ones read back from
the database (a version taken out of the folder still runs its cases)."""

from __future__ import annotations

from collections.abc import Iterable

from ..core.catalogue import DocumentCatalogue
from ..core.definitions import Definition, parse_definition
from ..errors import DefinitionChanged, InvalidInput
from ..ports import CaseStore
from ..records import now


class DefinitionRegistry:
    """The folder's definitions, registered in the store, plus stored ones looked up on use."""

    def __init__(self, store: CaseStore, definitions: Iterable[Definition],
                 catalogue: DocumentCatalogue, latest: dict[str, Definition]) -> None:
        self.store, self.catalogue = store, catalogue
        self._by_key = {d.key: d for d in definitions}
        self._latest = latest

    def register(self) -> None:
        """Store each version of the folder; refuse an edited version cases already run on."""
        stored = self.store.stored_definitions()
        for d in self._by_key.values():
            old_hash = stored.get(d.key)
            if old_hash == d.content_hash:
                continue
            in_use = self.store.register_definition(d.name, d.version, d.content_hash,
                                                    d.source, now(), replace=old_hash is not None)
            if in_use:
                raise DefinitionChanged(
                    f"{d.path}: {d.name} version {d.version} was edited, but {in_use} "
                    f"case(s) already run on it; put the change in a new version "
                    f"(version: {d.version + 1}) instead of editing this one"
                )

    def get(self, name: str, version: int | None = None) -> Definition:
        """A definition version (default: the folder's latest of ``name``)."""
        if version is None:
            latest = self._latest.get(name)
            if latest is None:
                raise InvalidInput(f"no workflow definition named '{name}'; known: "
                                   f"{', '.join(sorted(self._latest))}")
            return latest
        key = (name, version)
        if key not in self._by_key:
            source = self.store.definition_source(name, version)
            if source is None:
                raise InvalidInput(f"no definition {name} version {version}")
            self._by_key[key] = parse_definition(f"<stored {name} v{version}>",
                                                 self.catalogue, source)
        return self._by_key[key]


__all__ = ["DefinitionRegistry"]
