"""Files and environment: the definitions folder, its catalogue, calendars and commitments.

The core parses text (:mod:`workflow.core`); this module finds and reads the files it comes
from, decoding them as users' files are (:func:`workflow.core.textfile.decode_text`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from functools import cache
from importlib import metadata
from pathlib import Path

from .core.calendar import (
    LibraryDays,
    RegionalSchedule,
    WorkingDays,
    YearSchedule,
    is_regional_file,
    library_days,
    parse_regional_schedule,
    parse_schedule,
)
from .core.catalogue import DocumentCatalogue
from .core.commitments import CommittedLimits
from .core.definitions import Definition, parse_definition
from .core.divisions import parse_extra_divisions
from .core.papers import Agencies
from .core.textfile import UnknownEncoding, decode_text
from .core.yamlfile import YamlFile
from .errors import DefinitionError, InvalidInput

CATALOGUE_FILE = "documents.yaml"
DIVISIONS_FILE = "divisions_extra.yaml"
COMMITMENTS_FILE = "committed_limits.yaml"
AGENCIES_FILE = "agencies.yaml"
CALENDARS_DIR = "calendars"
DEFINITIONS_ENV = "SSTRANSFER_DEFINITIONS"
#: Where the calendar keeps what the `holidays` package computed (default: the user's cache
#: folder, ``$XDG_CACHE_HOME/sstransfer`` or ``~/.cache/sstransfer``).
CACHE_ENV = "SSTRANSFER_CACHE_DIR"


def read_text(path: Path | str) -> str:
    """A definition, calendar or catalogue file's text; unreadable files are DefinitionErrors."""
    try:
        return decode_text(Path(path).read_bytes())
    except OSError as exc:
        raise DefinitionError(path, f"cannot be read: {exc.strerror or exc}") from None
    except UnknownEncoding as exc:
        raise DefinitionError(path, str(exc)) from None


def read_yaml(path: Path | str) -> YamlFile:
    """A YAML file, parsed, remembering where each value stood."""
    return YamlFile(path, read_text(path))


def cache_dir() -> Path:
    """The folder sstransfer keeps computed data in (``SSTRANSFER_CACHE_DIR``, else the user's
    cache folder)."""
    if folder := os.environ.get(CACHE_ENV):
        return Path(folder)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "sstransfer"


def installed_holidays_version() -> str:
    """The installed `holidays` release, read from its metadata without importing it."""
    return metadata.version("holidays")


@cache
def cached_library_days() -> LibraryDays:
    """The `holidays` package's China (:func:`~workflow.core.calendar.library_days`), kept in
    :func:`cache_dir` under the release's version: a process that finds it there does not
    import the package (which imports every country: about 11 MB and 1 s). A file missing,
    unreadable or of another release is computed again and rewritten; a folder that cannot be
    written only means no cache."""
    try:
        version = installed_holidays_version()
    except metadata.PackageNotFoundError:  # installed without its metadata: nothing to key on
        return library_days()
    path = cache_dir() / f"holidays-china-{version}.json"
    try:
        return LibraryDays.from_json(path.read_text(encoding="utf-8"), version)
    except (OSError, ValueError):
        pass
    days = library_days()
    if days.version == version:
        _keep(path, days.to_json())
    return days


def _keep(path: Path, text: str) -> None:
    """Write ``path`` whole or not at all (processes may start at once); never fail."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent,
                                         prefix=f".{path.name}.", delete=False) as out:
            out.write(text)
    except OSError:
        return
    try:
        os.replace(out.name, path)
    except OSError:
        Path(out.name).unlink(missing_ok=True)


class WorkingCalendar(WorkingDays):
    """The working-day calendar users hold (``workflow.WorkingCalendar``, ``engine.calendar``):
    the working days with the schedules of a folder (``YEAR.yaml`` national schedules,
    ``YEAR-PP.yaml`` regional overlays); without one, the `holidays` package's data only."""

    def __init__(self, calendars_dir: Path | str | None = None) -> None:
        schedules: list[YearSchedule] = []
        regional: list[RegionalSchedule] = []
        years: dict[int, Path] = {}
        if calendars_dir is not None and Path(calendars_dir).is_dir():
            for path in sorted(Path(calendars_dir).glob("*.yaml")):
                doc = read_yaml(path)
                if is_regional_file(path.stem):
                    regional.append(parse_regional_schedule(doc))
                    continue
                schedule = parse_schedule(doc)
                if schedule.year in years:
                    raise InvalidInput(f"{path}: a second schedule for {schedule.year}")
                years[schedule.year] = path
                schedules.append(schedule)
        self.calendars_dir = calendars_dir
        super().__init__(schedules, regional, library=cached_library_days())


class DefinitionSet:
    """The definitions found in one folder, with the document catalogue and calendars there."""

    def __init__(self, folder: Path | str | None = None) -> None:
        self.folder = Path(folder) if folder is not None else shipped_definitions_dir()
        if not self.folder.is_dir():
            raise DefinitionError(self.folder, "definitions folder does not exist")
        self.catalogue = DocumentCatalogue.parse(read_yaml(self.folder / CATALOGUE_FILE))
        self.by_key: dict[tuple[str, int], Definition] = {}
        for path in sorted(self.folder.glob("*.yaml")):
            if path.name in (CATALOGUE_FILE, DIVISIONS_FILE, COMMITMENTS_FILE, AGENCIES_FILE):
                continue
            d = parse_definition(path, self.catalogue, read_text(path))
            if d.key in self.by_key:
                raise DefinitionError(
                    path, f"{d.name} version {d.version} is also in {self.by_key[d.key].path}", 1
                )
            self.by_key[d.key] = d
        if not self.by_key:
            raise DefinitionError(self.folder, "holds no workflow definition (*.yaml)")
        self._check_required_cases()
        divisions = self.folder / DIVISIONS_FILE
        self.extra_divisions = (parse_extra_divisions(read_yaml(divisions))
                                if divisions.is_file() else {})
        commitments = self.folder / COMMITMENTS_FILE
        self.commitments = (CommittedLimits.parse(read_yaml(commitments), self.by_key.values())
                            if commitments.is_file() else CommittedLimits())
        agencies = self.folder / AGENCIES_FILE
        self.agencies = (Agencies.parse(read_yaml(agencies)) if agencies.is_file()
                         else Agencies())

    def _check_required_cases(self) -> None:
        """A definition's ``requires_case`` names a definition of the folder and states of
        it (of one of its versions)."""
        for d in self.by_key.values():
            required = d.requires_case
            if required is None:
                continue
            states = {s for (name, _), other in self.by_key.items()
                      if name == required.definition for s in other.states}
            line = YamlFile(d.path, d.source).line_of(("requires_case",))
            if not states:
                raise DefinitionError(d.path, f"requires_case names no definition of this "
                                      f"folder: '{required.definition}'", line)
            unknown = [s for s in required.states if s not in states]
            if unknown:
                raise DefinitionError(d.path, f"requires_case: {required.definition} has no "
                                      f"state {', '.join(map(repr, unknown))}", line)

    @property
    def calendars_dir(self) -> Path:
        return self.folder / CALENDARS_DIR

    def names(self) -> list[str]:
        return sorted({name for name, _ in self.by_key})

    def latest(self, name: str) -> Definition:
        versions = [d for (n, _), d in self.by_key.items() if n == name]
        if not versions:
            raise InvalidInput(
                f"no workflow definition named '{name}'; known: {', '.join(self.names())}"
            )
        return max(versions, key=lambda d: d.version)

    def __iter__(self) -> Iterator[Definition]:
        return iter(self.by_key.values())


def shipped_definitions_dir() -> Path:
    """The definitions that come with the package (installed), or with the source checkout."""
    env = os.environ.get(DEFINITIONS_ENV)
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent
    installed = here / "definitions"
    return installed if installed.is_dir() else here.parent / "definitions"


__all__ = ["AGENCIES_FILE", "CATALOGUE_FILE", "COMMITMENTS_FILE", "DIVISIONS_FILE", "DefinitionSet",
           "WorkingCalendar", "read_text", "read_yaml", "shipped_definitions_dir"]
