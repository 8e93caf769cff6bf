"""Read-only views: a case as its users may see it (the ID number masked), a scan's result.

History entries, spans and alerts are the SQLModel read models of :mod:`workflow.records`,
which add nothing a view would."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any, ClassVar, Self

from .inputs import mask_person_id


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
    """A frozen view built from a row; ``to_dict`` leaves out fields hidden from ``repr``."""

    # Every view is a dataclass; declared so that ``dataclasses.fields`` accepts one.
    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]

    @classmethod
    def from_row(cls, row: Any, **overrides: Any) -> Self:
        """The view of a stored row: its fields by name, some of them converted."""
        return cls(**{f.name: overrides[f.name] if f.name in overrides else getattr(row, f.name)
                      for f in dataclasses.fields(cls)})

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)
                if f.repr}


@dataclasses.dataclass(frozen=True)
class Case(_View):
    """A transfer case as stored. ``person_id`` is left out of ``repr`` and ``to_dict``."""

    id: int
    definition: str
    definition_version: int
    insurance: str
    state: str
    version: int
    person_name: str
    person_id_masked: str
    origin: str
    destination: str
    scope: str
    applicant: str
    channel: str
    documents: tuple[str, ...]
    requested_documents: tuple[str, ...]
    opened_on: dt.date
    last_event_on: dt.date
    amount: Decimal | None
    contribution_months: int | None
    updated_at: dt.datetime
    person_id: str = dataclasses.field(repr=False)
    applicant_id: str | None = None  # the actor who applied (None: a clerk opened the case)
    #: Medical insurance since 2021: the scheme at each end (None where not recorded).
    origin_scheme: str | None = None
    destination_scheme: str | None = None
    #: The case number the person and the papers know (业务流水号): random, with a check
    #: digit; ``id`` is the internal number the agencies' staff and the API use.
    public_number: str = ""
    #: Recorded at opening: a unit accepts the person at the destination (None: not recorded).
    receiving_employer: bool | None = None
    #: An entrusted agent's application: the agent's name and masked ID number.
    agent_name: str | None = None
    agent_id_masked: str | None = None
    agent_id_number: str | None = dataclasses.field(default=None, repr=False)

    @classmethod
    def from_row(cls, row: Any, **overrides: Any) -> Case:
        r = row
        case = cls(
            id=r.id, definition=r.definition_name, definition_version=r.definition_version,
            insurance=r.insurance, state=r.state, version=r.version, person_name=r.person_name,
            person_id_masked=mask_person_id(r.person_id), origin=r.origin,
            destination=r.destination, scope=r.scope, applicant=r.applicant, channel=r.channel,
            documents=tuple(r.documents), requested_documents=tuple(r.requested_documents),
            opened_on=r.opened_on, last_event_on=r.last_event_on,
            amount=None if r.amount_fen is None else Decimal(r.amount_fen).scaleb(-2),
            contribution_months=r.contribution_months, updated_at=r.updated_at,
            person_id=r.person_id, applicant_id=r.applicant_id, origin_scheme=r.origin_scheme,
            destination_scheme=r.destination_scheme, public_number=r.public_number,
            receiving_employer=r.receiving_employer, agent_name=r.agent_name,
            agent_id_masked=None if r.agent_id_number is None
            else mask_person_id(r.agent_id_number), agent_id_number=r.agent_id_number,
        )
        return dataclasses.replace(case, **overrides) if overrides else case


@dataclasses.dataclass(frozen=True)
class ScanResult:
    """What one scan did; its alerts are ``engine.alerts(run_id=result.run_id)``."""

    as_of: dt.date
    ran: bool
    reason: str = ""
    run_id: int | None = None
    counts: dict[str, int] = dataclasses.field(default_factory=dict)
    delivered: int = 0
    failed_deliveries: int = 0
    #: Open alerts it resolved because their span's due date had moved (raised again in
    #: ``counts`` where the span is still at that level).
    resolved: int = 0

    def count(self, level: str) -> int:
        return self.counts.get(level, 0)

    @property
    def raised(self) -> int:
        return sum(self.counts.values())
