"""The rules of a transfer, without a database: :func:`workflow.core.rules.decide` (and
``decide_open``, ``decide_attach``) on plain :class:`CaseFacts` and the shipped definitions.

Each test states in its name or docstring the rule it pins, in the words of the domain:
who may take which step, with which documents, in which state, and which time limits a step
starts and ends.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from workflow import (
    Actor,
    DefinitionSet,
    InvalidInput,
    InvalidTransition,
    MissingDocuments,
    NotPermitted,
)
from workflow.core.rules import CaseFacts, decide, decide_attach, decide_open

DEFINITIONS = DefinitionSet()
PENSION = DEFINITIONS.by_key["pension_transfer", 1]
MEDICAL_V1 = DEFINITIONS.by_key["medical_transfer", 1]
MEDICAL = DEFINITIONS.by_key["medical_transfer", 2]

ORIGIN, DESTINATION, ELSEWHERE = "310000", "440300", "110000"
PERSON_ID = "11010519491231002X"
EMPLOYER = Actor("hr-7", "employer")
OTHER_EMPLOYER = Actor("hr-8", "employer")
DEST_CLERK = Actor("c-12", "destination_clerk", DESTINATION)
ORIGIN_CLERK = Actor("o-3", "origin_clerk", ORIGIN)
OTHER_DEST_CLERK = Actor("c-99", "destination_clerk", ELSEWHERE)
SUPERVISOR = Actor("s-1", "supervisor", DESTINATION)
PERSON = Actor("p-1", "self", person_id=PERSON_ID)
SOMEONE_ELSE = Actor("p-2", "self", person_id="110108198001010015")

PENSION_APPLICATION = frozenset({"application_form", "id_card", "payment_voucher",
                                 "endowment_manual", "employment_certificate"})


def facts(state: str = "applied", documents=PENSION_APPLICATION, **changes) -> CaseFacts:
    """An employer's counter application from Shanghai to Shenzhen, in ``state``."""
    base = CaseFacts(id=1, state=state, origin=ORIGIN, destination=DESTINATION,
                     applicant="employer", channel="counter", documents=frozenset(documents),
                     applicant_id="hr-7", person_id=PERSON_ID)
    return dataclasses.replace(base, **changes)


def self_facts(state: str = "applied", **changes) -> CaseFacts:
    """The same application made by the person for themselves."""
    return facts(state, applicant="self", applicant_id="p-1", **changes)


# --- reviewing the application ---------------------------------------------------------------

def test_the_destination_clerk_reviews_a_complete_application():
    """The destination's clerk reviews a complete pension application: applied becomes reviewed,
    and the destination's review span runs on (none starts or ends)."""
    step = decide(PENSION, facts(), "review", DEST_CLERK)
    assert (step.source, step.dest) == ("applied", "reviewed")
    assert step.spans_started == () and step.spans_ended == ()  # the review span runs on


def test_a_review_is_refused_while_an_application_document_is_missing_and_names_it():
    """Missing the payment voucher and the employment certificate, the review is refused
    listing both, by kind and by name."""
    held = PENSION_APPLICATION - {"payment_voucher", "employment_certificate"}
    with pytest.raises(MissingDocuments) as refused:
        decide(PENSION, facts(documents=held), "review", DEST_CLERK)
    assert set(refused.value.kinds) == {"payment_voucher", "employment_certificate"}
    assert all(name for _, name in refused.value.missing)


def test_documents_brought_with_the_review_count_towards_the_application():
    """A document the clerk brings with the review completes the application and is held from then
    on, as supplied by that step."""
    held = PENSION_APPLICATION - {"id_card"}
    step = decide(PENSION, facts(documents=held), "review", DEST_CLERK, documents=["id_card"])
    assert "id_card" in step.documents and step.supplied == ("id_card",)


def test_an_online_application_needs_identity_authentication_instead_of_the_id_card():
    """An online application is complete with identity authentication instead of the ID card, and
    without it the review is refused naming identity_authentication alone."""
    online = (PENSION_APPLICATION - {"id_card"}) | {"identity_authentication"}
    assert decide(PENSION, facts(documents=online, channel="online"), "review",
                  DEST_CLERK).dest == "reviewed"
    with pytest.raises(MissingDocuments) as refused:
        decide(PENSION, facts(channel="online"), "review", DEST_CLERK)
    assert refused.value.kinds == ("identity_authentication",)


def test_an_agents_application_also_needs_the_power_of_attorney_and_the_clients_id_copy():
    """An agent's application also needs the power of attorney and a copy of the client's ID card:
    the review is refused naming those two."""
    with pytest.raises(MissingDocuments) as refused:
        decide(PENSION, facts(applicant="agent", applicant_id="ag-1"), "review", DEST_CLERK)
    assert set(refused.value.kinds) == {"power_of_attorney", "client_id_copy"}


def test_only_a_destination_clerk_of_the_cases_destination_reviews_a_pension_transfer():
    """A clerk of another agency, the origin's clerk, the applicant and a supervisor are
    refused, each told who may review."""
    for actor in (OTHER_DEST_CLERK, ORIGIN_CLERK, EMPLOYER, SUPERVISOR):
        with pytest.raises(NotPermitted):
            decide(PENSION, facts(), "review", actor)
    with pytest.raises(NotPermitted, match=f"destination_clerk of agency {DESTINATION}"):
        decide(PENSION, facts(), "review", OTHER_DEST_CLERK)


def test_since_2021_a_clerk_of_either_agency_accepts_a_medical_application():
    """Medical version 2: the origin's or the destination's clerk accepts (review), which
    starts the origin's 10 working days to transfer out."""
    medical = facts(documents={"application_form", "id_card"})
    for actor in (ORIGIN_CLERK, DEST_CLERK):
        step = decide(MEDICAL, medical, "review", actor)
        assert step.dest == "reviewed"
        assert [s.name for s in step.spans_started] == ["origin_transfer"]
        assert step.spans_started[0].limit_working_days == 10
    with pytest.raises(NotPermitted):
        decide(MEDICAL, medical, "review", OTHER_DEST_CLERK)


def test_a_supervisor_reads_cases_but_fires_no_step():
    """A supervisor fires no step, not even a rejection with its explanation: refused as a
    supervisor."""
    with pytest.raises(NotPermitted, match="supervisor"):
        decide(PENSION, facts(), "reject", SUPERVISOR, inputs={"explanation": "no"})


# --- the contact letter, the funds and the continuation ---------------------------------------

def test_the_destination_clerk_sends_the_contact_letter_only_after_the_review():
    """In ``applied`` the letter cannot go yet: the refusal lists the steps allowed there."""
    with pytest.raises(InvalidTransition) as refused:
        decide(PENSION, facts(), "send_letter", DEST_CLERK)
    assert "send_letter" not in refused.value.allowed and "review" in refused.value.allowed


def test_sending_the_contact_letter_ends_the_destinations_review_and_starts_the_origins_transfer():
    """The letter is produced (held afterwards); the destination's 15 working days end and
    the origin's 15 begin."""
    step = decide(PENSION, facts("reviewed"), "send_letter", DEST_CLERK)
    assert step.dest == "letter_sent" and "contact_letter" in step.documents
    assert step.supplied == ("contact_letter",)
    assert step.spans_ended == ("destination_review",)
    assert [(s.name, s.owner, s.limit_working_days) for s in step.spans_started] == [
        ("origin_transfer", "origin", 15)]


def test_medical_insurance_since_2021_has_no_contact_letter():
    """Medical version 2 has no send_letter trigger at all, while version 1 keeps it for the cases
    that run on it."""
    with pytest.raises(InvalidInput, match="not a trigger"):
        decide(MEDICAL, facts("reviewed"), "send_letter", DEST_CLERK)
    assert "send_letter" in MEDICAL_V1.triggers  # cases opened on version 1 keep the letter


def test_the_origin_clerk_moves_the_funds_only_with_the_information_form_and_an_amount():
    """Moving the funds needs the information form and an exact amount: the step ends the origin's
    transfer span, starts the destination's continuation and records the amount as 12345.60."""
    letter_sent = facts("letter_sent", documents=PENSION_APPLICATION | {"contact_letter"})
    with pytest.raises(MissingDocuments) as refused:
        decide(PENSION, letter_sent, "move_funds", ORIGIN_CLERK, inputs={"amount": "10.00"})
    assert refused.value.kinds == ("information_form",)
    with pytest.raises(InvalidInput, match="amount"):
        decide(PENSION, letter_sent, "move_funds", ORIGIN_CLERK, documents=["information_form"])
    step = decide(PENSION, letter_sent, "move_funds", ORIGIN_CLERK,
                  documents=["information_form"], inputs={"amount": Decimal("12345.60")})
    assert step.dest == "funds_moved" and step.inputs["amount"] == "12345.60"
    assert step.spans_ended == ("origin_transfer",)
    assert [s.name for s in step.spans_started] == ["destination_continuation"]


def test_only_the_origin_agencys_clerk_moves_the_funds():
    """The destination's clerk, an origin clerk of another agency and the employer may not move the
    funds."""
    letter_sent = facts("letter_sent", documents=PENSION_APPLICATION | {"contact_letter"})
    for actor in (DEST_CLERK, Actor("o-9", "origin_clerk", ELSEWHERE), EMPLOYER):
        with pytest.raises(NotPermitted):
            decide(PENSION, letter_sent, "move_funds", actor, documents=["information_form"],
                   inputs={"amount": "1.00"})


def test_an_amount_of_money_is_exact_never_a_float():
    """An amount given as a float (12345.6) is refused: money is exact."""
    letter_sent = facts("letter_sent", documents=PENSION_APPLICATION | {"contact_letter"})
    with pytest.raises(InvalidInput, match="float"):
        decide(PENSION, letter_sent, "move_funds", ORIGIN_CLERK, documents=["information_form"],
               inputs={"amount": 12345.6})


def test_continuing_the_relationship_needs_the_contribution_months_and_closes_every_span():
    """Reaching a final state ends every running span (``spans_ended`` None: all of them)."""
    with pytest.raises(InvalidInput, match="contribution_months"):
        decide(PENSION, facts("funds_moved"), "continue_relationship", DEST_CLERK)
    step = decide(PENSION, facts("funds_moved"), "continue_relationship", DEST_CLERK,
                  inputs={"contribution_months": 126})
    assert step.dest == "continued" and step.spans_ended is None and step.spans_started == ()


def test_a_person_without_a_receiving_employer_has_three_months_to_pay_premiums():
    """Medical version 2: when the funds move for a self applicant, the person's own
    premium-payment span starts beside the destination's 5 working days; not for an employer."""
    reviewed = dict(documents={"application_form", "id_card"})
    own = decide(MEDICAL, self_facts("reviewed", **reviewed), "move_funds", ORIGIN_CLERK,
                 documents=["information_form"], inputs={"amount": "1.00"})
    assert {(s.name, s.limit_working_days, s.limit_months) for s in own.spans_started} == {
        ("destination_continuation", 5, None), ("premium_payment", None, 3)}
    employer = decide(MEDICAL, facts("reviewed", **reviewed), "move_funds", ORIGIN_CLERK,
                      documents=["information_form"], inputs={"amount": "1.00"})
    assert [s.name for s in employer.spans_started] == ["destination_continuation"]


# --- rejecting, requesting documents, resubmitting --------------------------------------------

def test_a_rejection_needs_a_written_explanation_and_closes_the_case():
    """A rejection without an explanation is refused; with one it ends the case (rejected) and every
    span."""
    with pytest.raises(InvalidInput, match="explanation"):
        decide(PENSION, facts(), "reject", DEST_CLERK)
    step = decide(PENSION, facts(), "reject", DEST_CLERK, inputs={"explanation": "不符合条件"})
    assert step.dest == "rejected" and step.spans_ended is None


def test_documents_found_wanting_are_requested_and_no_longer_held():
    """Requesting documents ends the destination's review span; what was requested leaves
    the case's documents and is remembered as requested."""
    step = decide(PENSION, facts(), "request_documents", DEST_CLERK,
                  inputs={"documents_needed": ["employment_certificate"]})
    assert step.dest == "awaiting_documents"
    assert step.requested == ("employment_certificate",)
    assert "employment_certificate" not in step.documents
    assert step.spans_ended == ("destination_review",)


def test_only_known_document_kinds_can_be_requested():
    """Requesting a document kind the catalogue does not know is refused as unknown."""
    with pytest.raises(InvalidInput, match="unknown document kind"):
        decide(PENSION, facts(), "request_documents", DEST_CLERK,
               inputs={"documents_needed": ["birth_certificate"]})


def test_a_resubmission_must_bring_what_was_requested_and_restarts_the_review():
    """A resubmission without the requested document is refused naming it; with it the case is
    applied again, nothing is still requested, and a new destination review span starts."""
    waiting = facts("awaiting_documents", documents=PENSION_APPLICATION - {"id_card"},
                    requested=("id_card",))
    with pytest.raises(MissingDocuments) as refused:
        decide(PENSION, waiting, "resubmit", EMPLOYER)
    assert refused.value.kinds == ("id_card",)
    step = decide(PENSION, waiting, "resubmit", EMPLOYER, documents=["id_card"])
    assert step.dest == "applied" and step.requested == ()
    assert [s.name for s in step.spans_started] == ["destination_review"]


def test_an_unknown_document_kind_is_refused_by_name():
    """A document kind the catalogue does not know, brought with a step, is refused naming it."""
    with pytest.raises(InvalidInput, match="birth_certificate"):
        decide(PENSION, facts(), "review", DEST_CLERK, documents=["birth_certificate"])


# --- the applicant's own steps -----------------------------------------------------------------

def test_the_applicant_who_opened_the_case_withdraws_it_and_another_employer_may_not():
    """The employer who opened the case withdraws it; another employer is refused, told that hr-7
    may."""
    assert decide(PENSION, facts("reviewed"), "withdraw", EMPLOYER).dest == "withdrawn"
    with pytest.raises(NotPermitted, match="hr-7"):
        decide(PENSION, facts("reviewed"), "withdraw", OTHER_EMPLOYER)


def test_a_destination_clerk_withdraws_on_the_applicants_behalf_and_the_step_says_so():
    """The destination's clerk may withdraw for the applicant, and the step records on whose behalf
    (employer hr-7)."""
    step = decide(PENSION, facts(), "withdraw", DEST_CLERK)
    assert step.inputs["on_behalf_of"] == "employer hr-7"


def test_the_origin_clerk_cannot_act_for_the_applicant():
    """The origin's clerk may not withdraw for the applicant: only a destination clerk acts on their
    behalf."""
    with pytest.raises(NotPermitted, match="on their behalf"):
        decide(PENSION, facts(), "withdraw", ORIGIN_CLERK)


def test_a_person_applying_for_themselves_is_known_by_their_id_number():
    """A ``self`` actor with the case's ID number is the applicant; another person, or the
    same actor id with another number, is not."""
    assert decide(PENSION, self_facts(), "withdraw", PERSON).dest == "withdrawn"
    with pytest.raises(NotPermitted, match="the person themselves"):
        decide(PENSION, self_facts(), "withdraw", SOMEONE_ELSE)
    with pytest.raises(NotPermitted):
        decide(PENSION, self_facts(), "withdraw", Actor("p-1", "self"))


def test_applicant_only_steps_are_refused_to_an_employer_when_a_clerk_opened_the_case():
    """A case opened by a clerk records no applicant actor: no employer can act as it."""
    with pytest.raises(NotPermitted, match="not recorded"):
        decide(PENSION, facts(applicant_id=None), "withdraw", EMPLOYER)


# --- final states and triggers not allowed ---------------------------------------------------

@pytest.mark.parametrize("definition", [PENSION, MEDICAL_V1, MEDICAL], ids=lambda d: f"{d.name}-v{d.version}")
def test_no_trigger_moves_a_case_in_a_final_state(definition):
    """Continued, rejected and withdrawn are final: every trigger is an InvalidTransition
    that lists no allowed step, and nothing can be attached."""
    for state in definition.final_states:
        for trigger in definition.triggers:
            with pytest.raises(InvalidTransition) as refused:
                decide(definition, facts(state), trigger, DEST_CLERK)
            assert refused.value.allowed == ()
        with pytest.raises(InvalidInput, match="closed"):
            decide_attach(definition, facts(state), DEST_CLERK, ["id_card"])


@pytest.mark.parametrize("definition", [PENSION, MEDICAL_V1, MEDICAL], ids=lambda d: f"{d.name}-v{d.version}")
def test_a_trigger_outside_its_source_states_is_an_invalid_transition(definition):
    """Whoever fires it: the state is checked before the actor."""
    for state in definition.states:
        allowed = set(definition.allowed_triggers(state))
        for trigger in set(definition.triggers) - allowed:
            with pytest.raises(InvalidTransition) as refused:
                decide(definition, facts(state), trigger, SUPERVISOR)
            assert set(refused.value.allowed) == allowed


def test_an_unknown_trigger_is_refused_naming_the_known_ones():
    """A trigger the definition does not have is refused as input, naming its triggers."""
    with pytest.raises(InvalidInput, match="review"):
        decide(PENSION, facts(), "approve", DEST_CLERK)


def test_a_step_takes_only_the_inputs_its_definition_names():
    """A step given an input its definition does not name (an amount with a review) is refused."""
    with pytest.raises(InvalidInput, match="takes no amount"):
        decide(PENSION, facts(), "review", DEST_CLERK, inputs={"amount": "1.00"})


# --- attaching documents, opening a case ------------------------------------------------------

def test_the_applicant_or_a_clerk_of_either_agency_attaches_documents_without_a_state_change():
    """The applicant or a clerk of either agency attaches documents, which the case holds from then
    on, without a change of state; another employer and a clerk of a third agency may not."""
    for actor in (EMPLOYER, DEST_CLERK, ORIGIN_CLERK):
        step = decide_attach(PENSION, facts("reviewed"), actor, ["information_form"])
        assert step.source == step.dest == "reviewed" and "information_form" in step.documents
    for actor in (OTHER_EMPLOYER, OTHER_DEST_CLERK):
        with pytest.raises(NotPermitted):
            decide_attach(PENSION, facts("reviewed"), actor, ["information_form"])


def application(definition=PENSION, **changes):
    args = dict(person_id=PERSON_ID, person_name="张三", origin=ORIGIN, destination=DESTINATION,
                applicant="employer", channel="counter", documents=sorted(PENSION_APPLICATION),
                actor=EMPLOYER)
    if definition.schemes:
        args.update(origin_scheme="urban_employee", destination_scheme="urban_employee")
    return decide_open(definition, **{**args, **changes})


def test_opening_a_pension_case_starts_the_destinations_review():
    """Opening a pension case records the employer who opened it, its scope (cross_province from
    Shanghai to Shenzhen), and starts the destination's review span."""
    fields = application()
    assert [s.name for s in fields["spans_started"]] == ["destination_review"]
    assert fields["applicant_id"] == "hr-7" and fields["scope"] == "cross_province"


def test_the_origins_clerk_opens_a_medical_case_since_2021_but_not_a_pension_case():
    """Since 2021 the origin's clerk may open a medical case (no applicant actor is recorded then);
    a pension case only the applicant or the destination's clerk opens."""
    assert application(MEDICAL, actor=ORIGIN_CLERK)["applicant_id"] is None
    with pytest.raises(NotPermitted):
        application(PENSION, actor=ORIGIN_CLERK)


def test_a_person_applies_only_for_themselves():
    """A person opens a case as a self applicant with their own ID number only: another person's
    opening of it is refused."""
    assert application(applicant="self", actor=PERSON)["applicant_id"] == "p-1"
    with pytest.raises(NotPermitted, match="for themselves"):
        application(applicant="self", actor=SOMEONE_ELSE)


def test_a_transfer_crosses_agencies():
    """An application with the same agency at both ends is refused: a transfer crosses agencies."""
    with pytest.raises(InvalidInput, match="same agency"):
        application(destination=ORIGIN)


def test_a_medical_case_since_2021_records_the_scheme_at_each_end_and_a_pension_case_none():
    """A medical application since 2021 must name its origin scheme; a pension application that
    names one is refused."""
    with pytest.raises(InvalidInput, match="origin_scheme"):
        application(MEDICAL, origin_scheme=None)
    with pytest.raises(InvalidInput, match="records no insurance scheme"):
        application(PENSION, origin_scheme="urban_employee")


def test_only_the_definitions_triggers_move_a_case_there_is_no_shortcut_to_a_state():
    """The transitions machine of a version has no unguarded ``to_<state>()`` shortcut."""
    assert not any(hasattr(PENSION.machine, f"to_{state}") for state in PENSION.states)
