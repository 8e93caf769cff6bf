"""Who may read and do what: the access rules, in one place, with no I/O.

A request's principal is the server's word, never the caller's (an API token or a verified
identity token says who they are). The rules of reading:

- a clerk reads (and acts on) the cases whose origin or destination is their agency;
- a supervisor reads those of their agency, or of a whole province if so granted;
- an applicant (self, employer, agent) reads the cases they applied for;
- nobody else reads anything. Only supervisors read the access log and the overdue report,
  for their agency or province, and only a supervisor of one of the case's agencies corrects
  a business date.

:func:`scope` turns those rules into the filters of a query (:mod:`workflow.core.queries`), so
that a list is narrowed in the database, never filtered after reading.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..errors import InvalidInput, NotPermitted, WorkflowError
from .definitions import Definition
from .divisions import STANDARD, Divisions
from .inputs import DEPARTMENTS, Actor, check_agency_format, check_departments, normalise
from .queries import NOBODY
from .rules import CaseFacts, decide, documents_needed, is_applicant
from .schema import CLERK_ROLES, ROLES

#: A principal's role: any actor role, or ``clerk`` (origin or destination clerk, by the case).
TOKEN_ROLES = (*ROLES, "clerk")
#: How a case was read: by the JSON API, on the dashboard, on the person's progress page, or
#: at the command line.
VIA = ("api", "dashboard", "progress", "cli")


@dataclasses.dataclass(frozen=True)
class Principal:
    """The authenticated caller: who they are and how far they may read."""

    actor_id: str
    role: str  # one of TOKEN_ROLES
    agency: str | None = None
    province: str | None = None  # a supervisor granted a whole province (2 digits)
    person_id: str | None = dataclasses.field(default=None, repr=False)
    token_id: int | None = None
    #: The department(s) of a clerk or supervisor: the insurances they act on and read (seed
    #: 000: "two different departments"). Both for a supervisor granted both, and for a token
    #: made before departments existed.
    departments: tuple[str, ...] = DEPARTMENTS

    @property
    def insurances(self) -> tuple[str, ...] | None:
        """The scope of the principal's department: None where it is not limited (both, or
        an applicant, who reads their own cases of either insurance)."""
        if not self.is_staff or set(self.departments) >= set(DEPARTMENTS):
            return None
        return self.departments

    @property
    def is_clerk(self) -> bool:
        return self.role == "clerk" or self.role in CLERK_ROLES

    @property
    def is_supervisor(self) -> bool:
        return self.role == "supervisor"

    @property
    def is_staff(self) -> bool:
        """A clerk or a supervisor of an agency (who may use the dashboard)."""
        return self.is_clerk or self.is_supervisor

    def actor_for(self, case: Any | None = None) -> Actor:
        """The engine's actor for a step on ``case``: a ``clerk`` acts as the origin clerk of a
        case from their agency and as the destination clerk of one to it."""
        role = self.role
        if role == "clerk":
            role = "origin_clerk" if case is not None and case.origin == self.agency \
                else "destination_clerk"
        return Actor(self.actor_id, role, self.agency,
                     person_id=self.person_id if role == "self" else None,
                     departments=self.insurances)

    def opener(self, origin: object) -> Actor:
        """The actor who opens a case from ``origin``: a ``clerk`` is the origin clerk at the
        origin's counter, else the destination clerk."""
        if self.role != "clerk":
            return self.actor_for()
        role = "origin_clerk" if normalise(origin) == self.agency else "destination_clerk"
        return Actor(self.actor_id, role, self.agency, departments=self.insurances)

    def describe(self) -> str:
        where = f" of province {self.province}" if self.province else (
            f" of agency {self.agency}" if self.agency else "")
        department = (f" ({' and '.join(self.insurances)} department)"
                      if self.insurances else "")
        return f"{self.role} {self.actor_id}{where}{department}"


def may_read(principal: Principal, case: Any) -> bool:
    """Whether ``principal`` may read ``case`` (a case view or row): the reading rules."""
    if principal.insurances is not None and case.insurance not in principal.insurances:
        return False
    if principal.is_clerk:
        return principal.agency in (case.origin, case.destination)
    if principal.is_supervisor:
        if principal.province is not None:
            return principal.province in (case.origin[:2], case.destination[:2])
        return principal.agency in (case.origin, case.destination)
    return is_applicant(principal.actor_for(case), CaseFacts.of(case))


def check_grant(role: object, agency: object, province: object) -> tuple[str, str | None,
                                                                       str | None]:
    """What a token or an identity token grants, checked exactly (the same rules for both):
    a known role (text); an agency, a 6-digit division code, which clerks and supervisors
    need unless a supervisor is granted a province, 2 ASCII digits. Nothing missing is
    widened and nothing of another type is read."""
    if not isinstance(role, str) or role not in TOKEN_ROLES:
        raise InvalidInput(f"unknown role {role!r}; roles: {', '.join(TOKEN_ROLES)}")
    if province is not None:
        if not (isinstance(province, str) and len(province) == 2 and province.isascii()
                and province.isdigit()):
            raise InvalidInput(f"a province is the 2-digit start of its division codes, "
                               f"not {province!r}")
        if role != "supervisor":
            raise InvalidInput("only a supervisor may be granted a whole province")
    if agency is not None:
        if not isinstance(agency, str):
            raise InvalidInput(f"an agency is a 6-digit division code, not {agency!r}")
        agency = check_agency_format(agency, "agency")
    elif role == "clerk" or role in CLERK_ROLES or (role == "supervisor" and province is None):
        raise InvalidInput(f"a {role} needs an agency (6-digit division code)")
    return role, agency, province


def is_staff_role(role: str) -> bool:
    """A clerk's or a supervisor's role: they work in a department."""
    return role == "clerk" or role in CLERK_ROLES or role == "supervisor"


def token_departments(token: Any) -> tuple[str, ...]:
    """The departments of a stored token: as named, or both for one made before departments
    existed (listed as such so that the agency can reissue it)."""
    named = getattr(token, "departments", None)
    return tuple(named.split(",")) if named else DEPARTMENTS


def check_department_grant(role: str, departments: object, *,
                           required: bool) -> tuple[str, ...]:
    """The department(s) a token or an identity token grants: a clerk works in one (pension
    or medical), a supervisor in one or both; an applicant names none (they read their own
    cases of either insurance). ``required``: a new token must name it; one made before
    departments existed (or an identity token without the claim) counts as both."""
    staff = is_staff_role(role)
    if departments is None:
        if staff and required:
            raise InvalidInput(f"a {role} token names the department: pension or medical"
                               + (" (or both for a supervisor granted both)"
                                  if role == "supervisor" else ""))
        return DEPARTMENTS
    if not staff:
        raise InvalidInput(f"a {role} names no department: they read their own cases")
    granted = check_departments(departments)
    assert granted is not None
    if role != "supervisor" and len(granted) > 1:
        raise InvalidInput(f"a {role} works in one department, pension or medical; only a "
                           "supervisor may be granted both")
    return granted


def check_read(principal: Principal, case: Any) -> None:
    """Refuse (``NotPermitted``) a principal who may not read ``case``."""
    if not may_read(principal, case):
        raise NotPermitted(f"{principal.describe()} may not read case {case.id}")


def scope(principal: Principal) -> dict[str, Any]:
    """What the principal may read, as the scope fields of a
    :class:`~workflow.core.queries.CaseQuery` (the same rules as :func:`may_read`)."""
    department = {"insurances": principal.insurances} if principal.insurances else {}
    if principal.is_clerk:
        return {"agencies": (str(principal.agency),), **department}
    if principal.is_supervisor:
        if principal.province is not None:
            return {"province": principal.province, **department}
        return {"agencies": (str(principal.agency),), **department}
    if principal.role == "self":
        return {"applicant": "self", "person_id": principal.person_id or NOBODY}
    return {"applicant": principal.role, "applicant_id": principal.actor_id}


def owned_scope(principal: Principal) -> dict[str, Any]:
    """What the principal may read of the agencies' work (alerts, the inbox, reports): the
    spans their agency owns, or the agencies of their province; an applicant's own cases'."""
    department = {"insurances": principal.insurances} if principal.insurances else {}
    if principal.is_supervisor and principal.province is not None:
        return {"province": principal.province, **department}
    if principal.is_staff:
        return {"agency": str(principal.agency), **department}
    return scope(principal)


def check_owned(principal: Principal, agency: str | None) -> None:
    """Refuse asking for the alerts of an ``agency`` outside the principal's scope."""
    if agency is None:
        return
    if principal.is_supervisor and principal.province is not None:
        if not check_agency_format(agency, "agency").startswith(principal.province):
            raise NotPermitted(f"{principal.describe()} reads the alerts of province "
                               f"{principal.province} only")
    elif principal.is_staff and agency != principal.agency:
        raise NotPermitted(f"{principal.describe()} reads the alerts of agency "
                           f"{principal.agency} only")


def check_supervisor(principal: Principal, what: str) -> None:
    """Refuse anyone but a supervisor (the access log, the overdue report)."""
    if not principal.is_supervisor:
        raise NotPermitted(f"only a supervisor may {what}; {principal.describe()} may not",
                           may_act=[("supervisor", principal.agency)])


def check_subscription_scope(principal: Principal, agency: str | None,
                             province: str | None) -> None:
    """A supervisor manages the subscriptions of their own agency, or, granted a province,
    of the province and its agencies; nobody else's."""
    check_supervisor(principal, "manage subscriptions and the outbox")
    if principal.province is not None:
        mine = province == principal.province or (
            agency is not None and agency.startswith(principal.province))
    else:
        mine = province is None and agency == principal.agency
    if not mine:
        where = f"agency {agency}" if agency is not None else f"province {province}"
        raise NotPermitted(f"the subscriptions of {where} are managed by its own supervisors; "
                           f"{principal.describe()} may not")


def check_report_reader(principal: Principal, via: str) -> None:
    """Who reads the overdue report of their agency (or province): through the API, a
    supervisor; on the dashboard, whose report pages serve the agency's staff, any clerk or
    supervisor."""
    if via == "dashboard" and principal.is_staff:
        return
    check_supervisor(principal, "download reports")


def check_papers_reader(principal: Principal, case: Any) -> None:
    """The agencies' papers carry the person's full ID number: only the clerks and
    supervisors of the case's two agencies read them (never the applicant, who sees the
    reason of a refusal and what is missing on the progress page)."""
    if not principal.is_staff:
        raise NotPermitted(f"the papers of case {case.id} are read by the clerks and "
                           f"supervisors of agency {case.origin} or {case.destination}; "
                           f"{principal.describe()} may not")
    check_read(principal, case)


def check_paper_correction(actor: Actor, issuer: str, number: str) -> None:
    """Only a clerk of the agency that issued a paper corrects it (by issuing a new one)."""
    if actor.role not in CLERK_ROLES or actor.agency != issuer:
        raise NotPermitted(f"paper {number} may be corrected by a clerk of agency {issuer}; "
                           f"{actor.describe()} may not",
                           may_act=[("origin_clerk", issuer), ("destination_clerk", issuer)])


def check_date_correction(actor: Actor, case_id: int, origin: str, destination: str) -> None:
    """Only a supervisor of the case's origin or destination agency corrects a business date."""
    if actor.role != "supervisor" or actor.agency not in (origin, destination):
        raise NotPermitted(
            f"a business date of case {case_id} may be corrected by a supervisor of "
            f"agency {origin} or {destination}; {actor.describe()} may not",
            may_act=[("supervisor", origin), ("supervisor", destination)])


def possible_steps(principal: Principal, definition: Definition, case: Any,
                   divisions: Divisions = STANDARD) -> list[str]:
    """The triggers from the case's state this principal may fire now, by the rules' own
    check of who may act; what a step still needs (documents, inputs) is not asked here."""
    if principal.is_supervisor:
        return []
    actor, facts = principal.actor_for(case), CaseFacts.of(case)
    allowed = []
    for trigger in definition.allowed_triggers(case.state):
        try:
            decide(definition, facts, trigger, actor, divisions=divisions)
        except NotPermitted:
            continue
        except WorkflowError:
            pass  # permitted; what it still needs is asked for on the form
        allowed.append(trigger)
    return allowed


__all__ = [
    "TOKEN_ROLES",
    "VIA",
    "Principal",
    "check_date_correction",
    "check_department_grant",
    "check_grant",
    "check_owned",
    "check_paper_correction",
    "check_papers_reader",
    "check_read",
    "check_report_reader",
    "check_supervisor",
    "documents_needed",
    "is_staff_role",
    "may_read",
    "owned_scope",
    "possible_steps",
    "scope",
    "token_departments",
]
