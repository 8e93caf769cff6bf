"""Parse YAML text safely and validate it, reporting errors with file and line (no I/O: the
caller reads the file, see :func:`workflow.loading.read_yaml`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from ..errors import DefinitionError

M = TypeVar("M", bound=BaseModel)
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
#: libyaml's parser, where PyYAML was built with it: several times faster than the pure-Python
#: one, which still reads a file libyaml refused, for its exact error.
_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", None)
#: Files already read, by name and text: every engine of a process (a test suite, the
#: workers of a service) reads the same definitions; their values are only ever validated
#: into new frozen models, never changed, so one parse serves them all.
_PARSED: dict[tuple[Path, str], tuple[Any, Any]] = {}
_PARSED_KEPT = 256


class StrictModel(BaseModel):
    """The schema of a file's keys: a key it does not name is an error (a typo, never a
    harmless extra), and the values read are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class YamlFile:
    """A parsed YAML file that remembers where each value stood.

    ``path`` names where the text came from, in errors. A key
    given twice in one mapping is an error naming both lines (YAML would keep the last one
    silently), and so is a date that does not exist (``2027-02-30``).
    """

    def __init__(self, path: Path | str, text: str) -> None:
        self.path = Path(path)
        self.text = text
        self.node: yaml.Node | None
        self.data: Any
        known = _PARSED.get((self.path, text))
        if known is not None:
            self.node, self.data = known
            return
        try:
            self._parse(_FAST_LOADER or yaml.SafeLoader)
        except DefinitionError:
            raise
        except Exception:  # the pure-Python parser says exactly what is wrong
            self._read_slowly()
        if not isinstance(self.data, dict):
            raise DefinitionError(path, "must be a mapping of keys to values", 1)
        if len(_PARSED) >= _PARSED_KEPT:
            _PARSED.clear()
        _PARSED[self.path, text] = (self.node, self.data)

    def _parse(self, loader_class: Any) -> None:
        """Compose the document, check its keys, then build the values from the same nodes."""
        loader = loader_class(self.text)
        try:
            self.node = loader.get_single_node()
            self._check_keys()
            self.data = None if self.node is None else loader.construct_document(self.node)
        finally:
            loader.dispose()

    def _read_slowly(self) -> None:
        """The pure-Python parser: its errors name the problem and the line as libyaml's do not
        always (a control character, a date that does not exist)."""
        path = self.path
        try:
            self._parse(yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            raise DefinitionError(path, f"is not valid YAML: {exc.problem or exc.context}",
                                  mark.line + 1 if mark else None) from None
        except yaml.reader.ReaderError as exc:  # a control character
            raise DefinitionError(
                path, f"is not valid YAML: character #x{exc.character:04x} is not allowed",
                self.text.count("\n", 0, exc.position) + 1) from None
        except yaml.YAMLError as exc:
            raise DefinitionError(path, f"is not valid YAML: {str(exc).splitlines()[0]}") from None
        except (ValueError, OverflowError):  # a timestamp YAML recognised but cannot build
            raise self._bad_date() from None
        except RecursionError:
            raise DefinitionError(path, "is not valid YAML: nested too deeply") from None

    def _nodes(self) -> Iterator[yaml.Node]:
        """Every node of the document, once each (aliases are not followed twice)."""
        todo, seen = [self.node] if self.node is not None else [], set()
        while todo:
            node = todo.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            yield node
            if isinstance(node, yaml.MappingNode):
                todo.extend(part for pair in node.value for part in pair)
            elif isinstance(node, yaml.SequenceNode):
                todo.extend(node.value)

    def _check_keys(self) -> None:
        for node in self._nodes():
            if not isinstance(node, yaml.MappingNode):
                continue
            first: dict[tuple[str, str], int] = {}
            for key, _ in node.value:
                if not isinstance(key, yaml.ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
                    continue
                line = key.start_mark.line + 1
                if (key.tag, key.value) in first:
                    raise self._error(f"key '{key.value}' is given twice (first on line "
                                      f"{first[key.tag, key.value]}): keep one", line)
                first[key.tag, key.value] = line

    def _bad_date(self) -> DefinitionError:
        for node in self._nodes():
            if isinstance(node, yaml.ScalarNode) and node.tag == _TIMESTAMP:
                try:
                    yaml.safe_load(node.value)
                except (ValueError, OverflowError):
                    return self._error(f"'{node.value}' is not a real date",
                                       node.start_mark.line + 1)
        return DefinitionError(self.path, "is not valid YAML: a value cannot be read")

    def line_of(self, loc: tuple[Any, ...]) -> int | None:
        """The 1-based line of the value at ``loc`` (keys and list indexes), or its nearest parent."""
        node, line = self.node, 1
        for part in loc:
            assert node is not None  # a document that is a mapping has a node
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
        """The error at ``loc``; values quoted from the file (a key, a state name with a line
        break in it) are shown escaped, so the message stays one line."""
        return self._error(problem, self.line_of(loc))

    def _error(self, problem: str, line: int | None) -> DefinitionError:
        problem = "".join(c if c.isprintable() else repr(c)[1:-1] for c in problem)
        return DefinitionError(self.path, problem, line)

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
