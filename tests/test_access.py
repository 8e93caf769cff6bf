"""Who may read and do what (``workflow.core.access``): pure rules, no database.

Every combination of role, agency, province and applicant is checked against one case from
310000 上海市 to 440300 深圳市 opened by employer ``hr-7`` for one person, and against the
same person's own case (applicant ``self``).
"""

from __future__ import annotations

import dataclasses

import pytest
from conftest import DESTINATION, ORIGIN, PERSON_ID, full_documents

from workflow import DefinitionSet, NotPermitted
from workflow.core import access
from workflow.core.access import Principal
from workflow.core.inputs import Actor
from workflow.core.queries import AlertQuery, CaseQuery, InboxQuery
from workflow.core.rules import CaseFacts

PENSION = DefinitionSet().latest("pension_transfer")
OTHER_AGENCY, OTHER_PERSON = "110000", "110105199003070017"


@dataclasses.dataclass(frozen=True)
class _Case:
    """What the rules read of a case (a stored case view has the same fields)."""

    id: int = 1
    state: str = "applied"
    origin: str = ORIGIN
    destination: str = DESTINATION
    applicant: str = "employer"
    channel: str = "counter"
    documents: tuple[str, ...] = tuple(full_documents("pension_transfer"))
    requested_documents: tuple[str, ...] = ()
    applicant_id: str | None = "hr-7"
    person_id: str = PERSON_ID


EMPLOYER_CASE = _Case()
OWN_CASE = _Case(id=2, applicant="self", applicant_id=None)

#: Each principal and whether it may read (the employer's case, the person's own case).
READERS: list[tuple[Principal, tuple[bool, bool]]] = [
    (Principal("c-1", "clerk", ORIGIN), (True, True)),
    (Principal("c-2", "clerk", DESTINATION), (True, True)),
    (Principal("c-3", "clerk", OTHER_AGENCY), (False, False)),
    (Principal("c-4", "origin_clerk", ORIGIN), (True, True)),
    (Principal("c-5", "destination_clerk", DESTINATION), (True, True)),
    (Principal("c-6", "destination_clerk", OTHER_AGENCY), (False, False)),
    (Principal("s-1", "supervisor", ORIGIN), (True, True)),
    (Principal("s-2", "supervisor", DESTINATION), (True, True)),
    (Principal("s-3", "supervisor", OTHER_AGENCY), (False, False)),
    (Principal("s-4", "supervisor", province="31"), (True, True)),
    (Principal("s-5", "supervisor", province="44"), (True, True)),
    (Principal("s-6", "supervisor", province="11"), (False, False)),
    (Principal("hr-7", "employer"), (True, False)),
    (Principal("hr-8", "employer"), (False, False)),
    (Principal("hr-7", "agent"), (False, False)),
    (Principal("me", "self", person_id=PERSON_ID), (False, True)),
    (Principal("me", "self", person_id=OTHER_PERSON), (False, False)),
]


def _in_scope(query: CaseQuery, case: _Case) -> bool:
    """What a narrowed query's scope fields mean (as the store applies them)."""
    ends = (case.origin, case.destination)
    return ((query.agencies is None or any(a in ends for a in query.agencies))
            and (query.province is None or query.province in (e[:2] for e in ends))
            and (query.applicant is None or query.applicant == case.applicant)
            and (query.applicant_id is None or query.applicant_id == case.applicant_id)
            and (query.person_id is None or query.person_id == case.person_id))


@pytest.mark.parametrize(("principal", "reads"), READERS,
                         ids=[p.describe() for p, _ in READERS])
def test_a_principal_reads_the_cases_of_their_agency_province_or_own_application(principal,
                                                                                 reads):
    """A clerk or supervisor reads the cases whose origin or destination is their agency (a
    province supervisor: in their province); an employer or agent reads the cases they
    opened; a person reads the cases opened for their ID number; nobody reads anything else."""
    assert (access.may_read(principal, EMPLOYER_CASE), access.may_read(principal, OWN_CASE)) \
        == reads
    for case, allowed in zip((EMPLOYER_CASE, OWN_CASE), reads, strict=True):
        if allowed:
            access.check_read(principal, case)
        else:
            with pytest.raises(NotPermitted, match=f"may not read case {case.id}"):
                access.check_read(principal, case)


@pytest.mark.parametrize(("principal", "reads"), READERS,
                         ids=[p.describe() for p, _ in READERS])
def test_a_scoped_case_query_finds_exactly_the_cases_the_principal_may_read(principal, reads):
    """The scope that narrows a case list says the same as the reading rule, so a list is
    narrowed in the database, never filtered after reading."""
    query = CaseQuery(state="applied").narrowed(**access.scope(principal))
    assert query.state == "applied"  # the caller's own filter stays
    assert (_in_scope(query, EMPLOYER_CASE), _in_scope(query, OWN_CASE)) == reads


def test_a_person_without_an_id_number_has_a_scope_that_matches_no_case():
    """A ``self`` principal whose token names no ID number reads nothing (not everything)."""
    query = CaseQuery().narrowed(**access.scope(Principal("me", "self")))
    assert query.person_id == "-" and not _in_scope(query, OWN_CASE)


@pytest.mark.parametrize(("principal", "owned"), [
    (Principal("c-1", "clerk", ORIGIN), {"agency": ORIGIN}),
    (Principal("s-1", "supervisor", DESTINATION), {"agency": DESTINATION}),
    (Principal("s-4", "supervisor", province="44"), {"province": "44"}),
    (Principal("hr-7", "employer"), {"applicant": "employer", "applicant_id": "hr-7"}),
    (Principal("me", "self", person_id=PERSON_ID), {"applicant": "self", "person_id": PERSON_ID}),
])
def test_the_agencies_work_is_read_by_the_agency_that_owns_it(principal, owned):
    """Alerts, the inbox and reports are the spans an agency owns: a clerk's or supervisor's
    agency, a province supervisor's province; an applicant sees those of their own cases."""
    assert access.owned_scope(principal) == owned
    AlertQuery().narrowed(**owned)  # every owned scope is a valid alert query


def test_asking_for_another_agencys_alerts_is_refused():
    """A clerk or supervisor asks only for their own agency's alerts; a province supervisor
    for any agency of their province (a malformed code is bad input, not a refusal)."""
    access.check_owned(Principal("c-1", "clerk", ORIGIN), ORIGIN)
    with pytest.raises(NotPermitted, match="reads the alerts of agency 310000 only"):
        access.check_owned(Principal("c-1", "clerk", ORIGIN), DESTINATION)
    access.check_owned(Principal("s-4", "supervisor", province="44"), DESTINATION)
    with pytest.raises(NotPermitted, match="reads the alerts of province 44 only"):
        access.check_owned(Principal("s-4", "supervisor", province="44"), ORIGIN)
    from workflow import InvalidInput

    with pytest.raises(InvalidInput):
        access.check_owned(Principal("s-4", "supervisor", province="44"), "44xx")


@pytest.mark.parametrize("role", ["clerk", "origin_clerk", "destination_clerk", "employer",
                                  "agent", "self"])
@pytest.mark.parametrize("via", ["api", "dashboard"])
def test_the_overdue_report_is_a_supervisors_through_the_api_and_staffs_on_the_dashboard(role,
                                                                                        via):
    """Only a supervisor downloads the overdue report through the API; the dashboard's report
    pages serve every clerk of the agency too; applicants never read it."""
    access.check_report_reader(Principal("s-1", "supervisor", ORIGIN), via)
    principal = Principal("x", role, None if role in ("employer", "agent", "self") else ORIGIN,
                          person_id=PERSON_ID if role == "self" else None)
    if via == "dashboard" and principal.is_staff:
        access.check_report_reader(principal, via)
    else:
        with pytest.raises(NotPermitted, match="only a supervisor may download reports"):
            access.check_report_reader(principal, via)


@pytest.mark.parametrize(("actor", "allowed"), [
    (Actor("s-1", "supervisor", ORIGIN), True),
    (Actor("s-2", "supervisor", DESTINATION), True),
    (Actor("s-3", "supervisor", OTHER_AGENCY), False),
    (Actor("c-2", "destination_clerk", DESTINATION), False),
])
def test_only_a_supervisor_of_the_cases_agencies_corrects_a_business_date(actor, allowed):
    """A business date is corrected by a supervisor of the case's origin or destination
    agency, and by nobody else, who is told which supervisors may."""
    if allowed:
        access.check_date_correction(actor, 1, ORIGIN, DESTINATION)
        return
    with pytest.raises(NotPermitted) as refused:
        access.check_date_correction(actor, 1, ORIGIN, DESTINATION)
    assert list(refused.value.may_act) == [("supervisor", ORIGIN), ("supervisor", DESTINATION)]


def test_a_clerk_token_acts_as_origin_or_destination_clerk_by_the_case():
    """A ``clerk`` acts as the origin clerk of a case from their agency and as the
    destination clerk of a case to it; opening, by the application's origin."""
    assert Principal("c", "clerk", ORIGIN).actor_for(EMPLOYER_CASE).role == "origin_clerk"
    assert Principal("c", "clerk", DESTINATION).actor_for(EMPLOYER_CASE).role \
        == "destination_clerk"
    assert Principal("c", "clerk", ORIGIN).opener("３１００００").role == "origin_clerk"
    assert Principal("c", "clerk", ORIGIN).opener(DESTINATION).role == "destination_clerk"
    me = Principal("me", "self", person_id=PERSON_ID).actor_for(OWN_CASE)
    assert (me.role, me.person_id) == ("self", PERSON_ID)


@pytest.mark.parametrize(("principal", "steps"), [
    (Principal("c-2", "clerk", DESTINATION), ["review", "reject", "request_documents",
                                              "withdraw"]),
    (Principal("c-1", "clerk", ORIGIN), []),
    (Principal("s-2", "supervisor", DESTINATION), []),
    (Principal("hr-7", "employer"), ["withdraw"]),
    (Principal("hr-8", "employer"), []),
])
def test_the_steps_a_principal_may_take_now_are_the_rules_own(principal, steps):
    """The steps offered are those the rules permit this principal from the case's state
    (the destination reviews an application; its applicant, or that clerk on their behalf,
    withdraws it); a supervisor takes none."""
    assert access.possible_steps(principal, PENSION, EMPLOYER_CASE) == steps


def test_the_documents_still_needed_are_what_the_step_requires_and_the_case_lacks():
    """What a step still needs is its own requirements, the application's documents and
    those asked for, less what the case holds, each once — the same list a refused step
    names."""
    spec = PENSION.transitions["review", "applied"]
    complete = CaseFacts.of(EMPLOYER_CASE)
    assert access.documents_needed(PENSION, spec, complete) == []
    lacking = dataclasses.replace(complete, documents=frozenset({"application_form"}),
                                  requested=("household_register",))
    needed = access.documents_needed(PENSION, spec, lacking)
    assert "application_form" not in needed and len(needed) == len(set(needed))
    assert set(needed) == set(full_documents("pension_transfer")) - {"application_form"}


@pytest.mark.parametrize(("field", "value"), [("limit", -1), ("offset", "2"), ("limit", True)])
def test_a_query_refuses_a_page_that_is_not_a_whole_number(field, value):
    """``limit`` and ``offset`` are whole numbers >= 0, refused in the user's terms."""
    from workflow import InvalidInput

    with pytest.raises(InvalidInput, match=f"{field} must be a whole number"):
        CaseQuery(**{field: value})


def test_a_query_takes_codes_as_typed_and_refuses_a_malformed_scope():
    """Codes typed full-width are read as ASCII; a province is two digits, an agency six."""
    from workflow import InvalidInput

    assert CaseQuery(agency="４４０３００").agency == DESTINATION
    for bad in ({"province": "4"}, {"agencies": ["44"]}):
        with pytest.raises(InvalidInput):
            CaseQuery(**bad)
    with pytest.raises(InvalidInput):
        InboxQuery(as_of="2026-01-01")  # type: ignore[arg-type]


def test_every_role_combination_is_covered():
    """The reading table above names every role a principal can have."""
    assert {p.role for p, _ in READERS} == set(access.TOKEN_ROLES)
