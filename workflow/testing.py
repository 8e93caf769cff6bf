"""Helpers for the tests of applications that embed sstransfer.

Builders of actors, valid resident ID numbers and complete applications, and an engine on a
temporary SQLite file, so a host application's test reads as its rule::

    from workflow.testing import RECEIVED_ON, application, destination_clerk, engine_for_tests

    def test_a_reviewed_case_is_the_destinations_turn(tmp_path):
        with engine_for_tests(tmp_path) as engine:
            case = engine.open_case(**application())
            engine.fire(case.id, "review", actor=destination_clerk(), on=RECEIVED_ON)
            assert engine.get(case.id).state == "reviewed"

Every value is fixed (no randomness, no dependence on today): the same call gives the same
actor, number or application. Only the public API is used, so these helpers keep working
across releases as the engine's own calls do.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Any

from stdnum.cn import ric

from . import Actor, DefinitionSet, Engine, Settings

#: The origin agency of :func:`application`: Shanghai (GB/T 2260 ``310000``).
ORIGIN = "310000"
#: The destination agency of :func:`application`: Shenzhen (GB/T 2260 ``440300``).
DESTINATION = "440300"
#: The business date :func:`application` opens cases on: a Friday before the 2025 National Day.
RECEIVED_ON = dt.date(2025, 9, 26)
#: The birth place of :func:`valid_person_id`'s numbers: Chaoyang district, Beijing.
BIRTH_PLACE = "110105"


def destination_clerk(agency: str = DESTINATION, *, id: str = "c-12") -> Actor:
    """A clerk of the destination agency: reviews, rejects, requests documents, sends the
    contact letter and continues the relationship of that agency's cases."""
    return Actor(id=id, role="destination_clerk", agency=agency)


def origin_clerk(agency: str = ORIGIN, *, id: str = "o-3") -> Actor:
    """A clerk of the origin agency: moves the funds of that agency's cases."""
    return Actor(id=id, role="origin_clerk", agency=agency)


def clerk(agency: str, *, role: str = "destination_clerk", id: str | None = None) -> Actor:
    """A clerk of ``agency`` in ``role`` (``destination_clerk`` or ``origin_clerk``)."""
    if role == "origin_clerk":
        return origin_clerk(agency, id=id or "o-3")
    return Actor(id=id or "c-12", role=role, agency=agency)


def supervisor(agency: str = DESTINATION, *, id: str = "s-1") -> Actor:
    """A supervisor of ``agency``: reads cases and corrects business dates, fires no step."""
    return Actor(id=id, role="supervisor", agency=agency)


def applicant(kind: str = "employer", *, id: str | None = None,
              person_id: str | None = None) -> Actor:
    """The applicant of a case: an ``employer`` (``hr-7``), an ``agent`` (``ag-1``), or the
    person themselves (``self``), who gives their own ID number (default
    :func:`valid_person_id`'s first). Open the case with the same actor to be its applicant.
    """
    if kind == "self":
        return Actor(id=id or "p-1", role="self", person_id=person_id or valid_person_id())
    return Actor(id=id or {"employer": "hr-7", "agent": "ag-1"}.get(kind, f"{kind}-1"),
                 role=kind)


def valid_person_id(birth: dt.date = dt.date(1980, 1, 1), *, seed: int = 0,
                    place: str = BIRTH_PLACE) -> str:
    """An 18-character resident ID number the engine accepts: born at ``place`` (a county
    code valid in ``birth``'s year) on ``birth``, with sequence number ``seed`` (0–999, taken
    modulo 1000: different seeds give different people) and its check digit (GB 11643)."""
    body = f"{place}{birth:%Y%m%d}{seed % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


@lru_cache(maxsize=1)
def _shipped_definitions() -> DefinitionSet:
    return DefinitionSet()


def application(definition: str = "pension_transfer", *,
                definitions: Path | str | DefinitionSet | None = None,
                **overrides: Any) -> dict[str, Any]:
    """The keyword arguments of a complete application: ``engine.open_case(**application())``.

    An employer (``hr-7``, the :func:`applicant` default) applies at the counter on
    :data:`RECEIVED_ON` to move the insurance of 张三 (:func:`valid_person_id`) from
    :data:`ORIGIN` to :data:`DESTINATION`, with every document the definition's latest
    version needs before review and, where it records them, the urban employee scheme at
    both ends. ``overrides`` replace any of these (``applicant="agent"`` brings the actor, the
    documents and the name and ID number of an agent, unless given too). ``definitions``: the folder (or
    :class:`DefinitionSet`) the engine runs on, default the shipped one.
    """
    if isinstance(definitions, DefinitionSet):
        found = definitions
    elif definitions is None:
        found = _shipped_definitions()
    else:  # read afresh: a test may have edited its copy of the folder
        found = DefinitionSet(definitions)
    d = found.latest(definition)
    kind = overrides.get("applicant", "employer")
    channel = overrides.get("channel", "counter")
    args: dict[str, Any] = {
        "definition": definition, "person_id": valid_person_id(), "person_name": "张三",
        "origin": ORIGIN, "destination": DESTINATION, "applicant": kind, "channel": channel,
        "documents": list(d.application_documents(kind, channel)), "on": RECEIVED_ON,
    }
    if d.schemes:
        args.update(origin_scheme="urban_employee", destination_scheme="urban_employee")
    if kind == "agent":  # an entrusted agent names themselves (李四, a valid ID number)
        args.update(agent_name="李四", agent_id_number=valid_person_id(seed=99))
    args.update(overrides)
    if "actor" not in overrides:
        pid = args["person_id"] if kind == "self" else None
        args["actor"] = applicant(kind, person_id=pid)
    return args


def engine_for_tests(folder: Path | str, **options: Any) -> Engine:
    """An engine on a new SQLite file in ``folder`` (pytest's ``tmp_path``), with default
    settings whatever ``$SSTRANSFER_SETTINGS`` says. ``options`` go to :class:`Engine`
    (``definitions=``, ``settings=``, ``extra_divisions=``). Close it (or use ``with``)."""
    options.setdefault("settings", Settings())
    return Engine(f"sqlite:///{Path(folder) / 'cases.db'}", **options)


__all__ = [
    "BIRTH_PLACE",
    "DESTINATION",
    "ORIGIN",
    "RECEIVED_ON",
    "applicant",
    "application",
    "clerk",
    "destination_clerk",
    "engine_for_tests",
    "origin_clerk",
    "supervisor",
    "valid_person_id",
]
