"""The papers of a transfer: what each says, who issues it, how it is numbered.

A transfer is a chain of papers (DOMAIN.md; seeds 000, 002, 003, 004): the destination's
contact letter (联系函) to the origin; the origin's information form (信息表) with the money;
the written explanation of a refusal (不予受理告知书); the one-time notice of what is missing
(一次性告知书); the completion notice (办结通知) to the employer or the insured. A step of a
definition names the papers it issues (``papers:`` of a transition); this module builds each
paper's content from the case, the step's inputs and the agencies' own data
(``definitions/agencies.yaml``, optional) — plain data the renderer
(:mod:`workflow.render.papers`) prints and the store keeps as issued. No I/O here.
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Protocol

from pydantic import BeforeValidator, Field, StringConstraints, field_validator

from .definitions import Definition
from .divisions import STANDARD, Divisions
from .inputs import Actor
from .schema import PAPER_KINDS, SCHEMES
from .yamlfile import StrictModel, YamlFile

#: The issuer of each paper: the destination writes the contact letter and closes the
#: transfer, the origin sends the information form; a refusal or a request for documents is
#: the act of the agency whose clerk took the step (either, for medical insurance since 2021).
ISSUER = {
    "contact_letter": "destination",
    "information_form": "origin",
    "refusal_explanation": "actor",
    "one_time_notice": "actor",
    "completion_notice": "destination",
}
#: The word of each paper in its default number (``〔2026〕440300养转函第000123号``).
NUMBER_WORDS = {
    "contact_letter": "转函",
    "information_form": "转信",
    "refusal_explanation": "不受",
    "one_time_notice": "补告",
    "completion_notice": "办结",
}
INSURANCE_WORDS = {"pension": "养", "medical": "医"}
#: How a paper is numbered unless its agency says otherwise: the year in 〔〕, the agency's
#: code, the insurance and the paper's word, and the sequence number of that agency, paper and
#: year, six digits, from 1 without gaps.
DEFAULT_NUMBER_FORMAT = "〔{year}〕{agency}{insurance}{kind}第{seq:06d}号"
NUMBER_FIELDS = ("year", "agency", "insurance", "kind", "seq")
#: The default name of an agency the agencies file does not name, after its division's name.
AGENCY_SUFFIX = {"pension": "社会保险经办机构", "medical": "医疗保障经办机构"}


def _check_number_format(value: str) -> str:
    """A number format names only :data:`NUMBER_FIELDS` and has the year and the sequence
    (without them two papers could share a number)."""
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        sample = value.format(year=2026, agency="440300", insurance="养", kind="转函", seq=1)
    except (ValueError, KeyError, IndexError) as exc:
        raise ValueError(f"number_format {value!r} is not a format of "
                         f"{', '.join(NUMBER_FIELDS)}: {exc}") from None
    unknown = sorted(fields - set(NUMBER_FIELDS))
    if unknown:
        raise ValueError(f"number_format may name {', '.join(NUMBER_FIELDS)}, "
                         f"not {', '.join(unknown)}")
    if not {"year", "seq"} <= fields:
        raise ValueError("number_format must contain {year} and {seq}")
    if not sample.isprintable():
        raise ValueError("number_format must be printable text on one line")
    return value


_Text = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
_AgencyCode = Annotated[str, BeforeValidator(lambda v: str(v) if type(v) is int else v),
                        StringConstraints(pattern=r"^[0-9]{6}$")]


class Account(StrictModel):
    """The bank account that receives an agency's transferred funds."""

    bank: _Text
    name: _Text
    number: Annotated[str, BeforeValidator(lambda v: str(v) if type(v) is int else v),
                      StringConstraints(pattern=r"^[0-9 -]{4,40}$")]


class AgencyModel(StrictModel):
    """What an agency prints on its papers (every key optional)."""

    name: _Text | None = None
    address: _Text | None = None
    telephone: Annotated[str, StringConstraints(pattern=r"^[0-9+() -]{3,40}$")] | None = None
    account: Account | None = None
    #: The agency's own text of the remedies against a refusal (e.g. where to apply for
    #: administrative review, and within what time): printed on its refusals as given.
    remedies: Annotated[str, StringConstraints(min_length=1, max_length=2000)] | None = None
    number_format: str | None = None

    @field_validator("number_format")
    @classmethod
    def _format(cls, value: str | None) -> str | None:
        return None if value is None else _check_number_format(value)


class _AgenciesModel(StrictModel):
    agencies: dict[_AgencyCode, AgencyModel] = Field(default_factory=dict)
    #: The number format of every agency that gives none (default
    #: :data:`DEFAULT_NUMBER_FORMAT`).
    number_format: str = DEFAULT_NUMBER_FORMAT

    @field_validator("number_format")
    @classmethod
    def _format(cls, value: str) -> str:
        return _check_number_format(value)


class Agencies:
    """The agencies' own data for their papers (``definitions/agencies.yaml``)."""

    def __init__(self, agencies: Mapping[str, AgencyModel] | None = None,
                 number_format: str = DEFAULT_NUMBER_FORMAT,
                 divisions: Divisions = STANDARD) -> None:
        self.agencies = dict(agencies or {})
        self.number_format = _check_number_format(number_format)
        self.divisions = divisions

    @classmethod
    def parse(cls, doc: YamlFile, divisions: Divisions = STANDARD) -> Agencies:
        model = doc.validate(_AgenciesModel)
        return cls(model.agencies, model.number_format, divisions)

    def with_divisions(self, divisions: Divisions) -> Agencies:
        """The same agencies, named after ``divisions`` where the file names none."""
        return Agencies(self.agencies, self.number_format, divisions)

    def get(self, code: str) -> AgencyModel:
        return self.agencies.get(code) or AgencyModel()

    def name(self, code: str, insurance: str) -> str:
        """The agency's name: the file's, else its division's name and the kind of agency."""
        given = self.get(code).name
        if given:
            return given
        division = self.divisions.name_of(code)
        return f"{division}{AGENCY_SUFFIX[insurance]}" if division else f"{code}{AGENCY_SUFFIX[insurance]}"

    def party(self, code: str, insurance: str, *, account: bool = False) -> dict[str, Any]:
        """An agency as a paper names it: code, name, address, telephone (and the account
        that receives the funds, for the destination of a contact letter)."""
        agency = self.get(code)
        party: dict[str, Any] = {"code": code, "name": self.name(code, insurance),
                                 "address": agency.address, "telephone": agency.telephone}
        if account:
            party["account"] = agency.account.model_dump() if agency.account else None
        return party

    def number(self, agency: str, insurance: str, kind: str, year: int, seq: int) -> str:
        """The printed number of the ``seq``-th paper of ``kind`` the agency issued in ``year``."""
        fmt = self.get(agency).number_format or self.number_format
        return fmt.format(year=year, agency=agency, insurance=INSURANCE_WORDS[insurance],
                          kind=NUMBER_WORDS[kind], seq=seq)


class PaperCase(Protocol):
    """What a paper reads of its case (a stored row or a view)."""

    @property
    def id(self) -> int: ...
    @property
    def public_number(self) -> str: ...
    @property
    def insurance(self) -> str: ...
    @property
    def person_id(self) -> str: ...
    @property
    def person_name(self) -> str: ...
    @property
    def origin(self) -> str: ...
    @property
    def destination(self) -> str: ...
    @property
    def applicant(self) -> str: ...
    @property
    def origin_scheme(self) -> str | None: ...
    @property
    def destination_scheme(self) -> str | None: ...


def issuer_of(kind: str, case: PaperCase, actor: Actor) -> str:
    """The agency that issues a paper of ``kind`` on ``case`` when ``actor`` takes the step."""
    side = ISSUER[kind]
    if side == "origin":
        return case.origin
    if side == "destination":
        return case.destination
    assert actor.agency is not None  # only clerks take the steps that issue papers
    return actor.agency


def _scheme(name: str | None) -> str | None:
    return None if name is None else SCHEMES[name].split(" (")[0]


def paper_content(kind: str, *, definition: Definition, case: PaperCase,
                  inputs: Mapping[str, Any], actor: Actor, on: dt.date, number: str,
                  agencies: Agencies, replaces: Mapping[str, str] | None = None,
                  cumulative_months: int | None = None) -> dict[str, Any]:
    """The content of one paper, JSON-safe, as :mod:`workflow.render.papers` prints it."""
    if kind not in PAPER_KINDS:
        raise ValueError(f"no paper {kind!r}")
    insurance = case.insurance
    issuer = issuer_of(kind, case, actor)
    content: dict[str, Any] = {
        "kind": kind,
        "title": definition.title("paper", kind, "zh"),
        "number": number,
        "issued_on": on.isoformat(),
        "insurance": insurance,
        "case_id": case.id,
        "case_number": case.public_number,
        "person": {"name": case.person_name, "id_number": case.person_id},
        "issuer": agencies.party(issuer, insurance),
        "origin": agencies.party(case.origin, insurance),
        "destination": agencies.party(case.destination, insurance, account=True),
        "clerk": actor.id,
        "replaces": dict(replaces) if replaces else None,
    }
    content.update(_body(kind, definition, case, inputs, issuer, agencies, cumulative_months))
    return content


def _body(kind: str, definition: Definition, case: PaperCase, inputs: Mapping[str, Any],
          issuer: str, agencies: Agencies, cumulative_months: int | None) -> dict[str, Any]:
    """What one kind of paper says beyond what every paper says."""
    if kind == "information_form":
        form = dict(inputs["information_form"])
        if case.insurance == "medical":
            form["origin_scheme"] = _scheme(case.origin_scheme)
            form["destination_scheme"] = _scheme(case.destination_scheme)
        return {"form": form}
    if kind == "refusal_explanation":
        return {"reason": inputs["explanation"], "remedies": agencies.get(issuer).remedies}
    if kind == "one_time_notice":
        return {"documents": _documents(definition, inputs["documents_needed"])}
    if kind == "completion_notice":
        return {"addressee": "employer" if case.applicant == "employer" else "insured",
                "months": cumulative_months}
    return {}


def _documents(definition: Definition, kinds: Iterable[str]) -> list[dict[str, str]]:
    return [{"kind": k, "title": definition.catalogue.title(k, "zh")} for k in kinds]


__all__ = [
    "DEFAULT_NUMBER_FORMAT",
    "ISSUER",
    "NUMBER_WORDS",
    "Account",
    "Agencies",
    "AgencyModel",
    "PaperCase",
    "issuer_of",
    "paper_content",
]
