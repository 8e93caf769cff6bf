"""Read a YAML data file safely and validate it, reporting errors with file and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from .errors import DefinitionError

M = TypeVar("M", bound=BaseModel)


class YamlFile:
    """A parsed YAML file that remembers where each value stood."""

    def __init__(self, path: Path | str, text: str | None = None) -> None:
        self.path = Path(path)
        try:
            self.text = self.path.read_text(encoding="utf-8") if text is None else text
        except OSError as exc:
            raise DefinitionError(path, f"cannot be read: {exc.strerror or exc}") from None
        try:
            self.node = yaml.compose(self.text, Loader=yaml.SafeLoader)
            self.data: Any = yaml.safe_load(self.text)
        except yaml.MarkedYAMLError as exc:
            line = exc.problem_mark.line + 1 if exc.problem_mark else None
            raise DefinitionError(path, f"is not valid YAML: {exc.problem}", line) from None
        if not isinstance(self.data, dict):
            raise DefinitionError(path, "must be a mapping of keys to values", 1)

    def line_of(self, loc: tuple[Any, ...]) -> int | None:
        """The 1-based line of the value at ``loc`` (keys and list indexes), or its nearest parent."""
        node, line = self.node, 1
        for part in loc:
            line = node.start_mark.line + 1
            if isinstance(node, yaml.MappingNode):
                found = [v for k, v in node.value if k.value == part]
                key_nodes = [k for k, _ in node.value if k.value == part]
                if not found:
                    return line
                line = key_nodes[0].start_mark.line + 1
                node = found[0]
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                if part >= len(node.value):
                    return line
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                return line
        return line

    def fail(self, problem: str, loc: tuple[Any, ...] = ()) -> DefinitionError:
        return DefinitionError(self.path, problem, self.line_of(loc))

    def validate(self, model: type[M]) -> M:
        try:
            return model.model_validate(self.data)
        except ValidationError as exc:
            # An unknown key usually explains a "missing" one (a typo): report it first.
            first = min(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
            loc = tuple(first["loc"])
            where = ".".join(str(p) for p in loc) or "(top)"
            if first["type"] == "extra_forbidden":
                raise self.fail(f"unknown key '{where}'", loc) from None
            raise self.fail(f"{where}: {first['msg']}", loc) from None
