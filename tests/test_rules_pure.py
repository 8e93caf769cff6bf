"""The definition's `transitions` machine decides each step, and the rules of who may take it,
with which documents and inputs, and of what an application holds: pure tests of
:mod:`workflow.core.rules`, without a database (the engine's tests keep only what storage adds,
such as a refusal writing nothing)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from conftest import (
    APPLICANT,
    DEST_CLERK,
    DESTINATION,
    ORIGIN,
    ORIGIN_CLERK,
    OTHER_PERSON_ID,
    PERSON_ID,
    full_documents,
)
from stdnum.cn import ric

from workflow import (
    Actor,
    DefinitionSet,
    InvalidInput,
    InvalidTransition,
    MissingDocuments,
    NotPermitted,
    today,
)
from workflow.core.divisions import name_of
from workflow.core.rules import CaseFacts, _Attempt, decide, decide_attach, decide_open
from workflow.core.schema import CONDITIONS

DEFINITIONS = DefinitionSet()
PENSION = DEFINITIONS.latest("pension_transfer")


def facts(state: str = "applied", documents=None, **overrides) -> CaseFacts:
    args = dict(id=1, state=state, origin=ORIGIN_CLERK.agency, destination=DEST_CLERK.agency,
                applicant="employer", channel="counter", applicant_id=APPLICANT.id,
                documents=frozenset(full_documents("pension_transfer") if documents is None
                                    else documents))
    return CaseFacts(**{**args, **overrides})


def test_a_trigger_not_allowed_in_a_state_is_refused_by_the_machine_naming_the_allowed_ones():
    """A trigger not allowed in a state is refused by the definition's machine, naming the
    triggers the machine has from that state."""
    with pytest.raises(InvalidTransition) as refused:
        decide(PENSION, facts("reviewed"), "resubmit", APPLICANT)
    assert refused.value.allowed == tuple(PENSION.machine.get_triggers("reviewed"))
    assert str(refused.value) == ("case 1 is 'reviewed': 'resubmit' is not allowed there; "
                                  "allowed: reject, send_letter, withdraw")
    with pytest.raises(InvalidTransition, match="allowed: nothing"):
        decide(PENSION, facts("withdrawn"), "withdraw", APPLICANT)


def test_a_trigger_the_machine_does_not_have_is_not_a_trigger_of_the_definition():
    """A name that is no event of the machine is refused as input, listing its triggers."""
    with pytest.raises(InvalidInput, match="'approve' is not a trigger of pension_transfer; "
                                           "triggers: review, reject, "):
        decide(PENSION, facts(), "approve", DEST_CLERK)


def test_every_condition_of_a_machine_is_a_named_rule():
    """Each transition's conditions are names from the registry, in order: who may fire it,
    its inputs, the documents it requires (if any), then the definition's guards; each name
    is a rule of the attempt the machine fires on, never code from the definition file."""
    for d in DEFINITIONS:
        for spec in d.model.transitions:
            for source in spec.source:
                [transition] = d.machine.events[spec.trigger].transitions[source]
                names = [c.func for c in transition.conditions]
                assert names == ["permitted", "inputs_valid",
                                 *(["documents_required"] if spec.requires else []), *spec.guards]
    assert all(callable(getattr(_Attempt, name, None)) for name in CONDITIONS)


def test_a_failed_condition_is_refused_with_the_rules_own_error():
    """The machine's conditions fail silently in transitions; decide raises what the rule
    said: who may fire the trigger, which input is missing, which documents are missing."""
    other_agency = Actor("c-9", "destination_clerk", "110000")
    with pytest.raises(NotPermitted, match="'review' on case 1 may be fired by a "
                                           "destination_clerk of agency 440300; "):
        decide(PENSION, facts(), "review", other_agency)
    with pytest.raises(InvalidInput, match="'reject' needs explanation"):
        decide(PENSION, facts(), "reject", DEST_CLERK)
    with pytest.raises(MissingDocuments) as missing:
        decide(PENSION, facts(documents={"application_form"}), "review", DEST_CLERK)
    assert sorted(missing.value.kinds) == ["employment_certificate", "endowment_manual", "id_card",
                                           "payment_voucher"]


def test_the_conditions_are_checked_in_order_permission_inputs_documents():
    """The first failing condition says why: a clerk of another agency is told so even when
    documents are missing; a permitted clerk with a bad input is told of the input first."""
    lacking = facts("letter_sent", documents=set())
    with pytest.raises(NotPermitted):
        decide(PENSION, lacking, "move_funds", DEST_CLERK, inputs={"amount": "1.00"})
    with pytest.raises(InvalidInput, match="amount"):
        decide(PENSION, lacking, "move_funds", ORIGIN_CLERK, inputs={"amount": "1.001"})
    with pytest.raises(MissingDocuments, match="information_form"):
        decide(PENSION, lacking, "move_funds", ORIGIN_CLERK, inputs={"amount": "1.00"})
    step = decide(PENSION, lacking, "move_funds", ORIGIN_CLERK, documents=["information_form"],
                  inputs={"amount": "1.00"})
    assert (step.dest, step.inputs) == ("funds_moved", {"amount": "1.00"})


def test_threads_share_the_machine_and_each_gets_its_own_step():
    """One machine decides for every thread at once: each call gets the step (or refusal) of
    its own case, and the machine is left as it was."""
    cases = [("applied", "review", "reviewed"), ("reviewed", "send_letter", "letter_sent"),
             ("applied", "request_documents", "awaiting_documents"),
             ("reviewed", "review", None)]
    inputs = {"request_documents": {"documents_needed": ["id_card"]}}

    def one(i: int) -> str | None:
        state, trigger, _ = cases[i % len(cases)]
        try:
            return decide(PENSION, facts(state, id=i), trigger, DEST_CLERK,
                          inputs=inputs.get(trigger)).dest
        except InvalidTransition as refused:
            assert refused.case_id == i and refused.state == state
            return None

    with ThreadPoolExecutor(max_workers=8) as pool:
        dests = list(pool.map(one, range(2000)))
    assert dests == [cases[i % len(cases)][2] for i in range(2000)]
    assert PENSION.machine.models == []


# --- the rules once tested through an engine on both databases --------------------------------

MEDICAL_V1 = DEFINITIONS.by_key["medical_transfer", 1]
MEDICAL = DEFINITIONS.by_key["medical_transfer", 2]
#: Both insurances followed the contact-letter process before 2021 (medical version 1).
letter_process = pytest.mark.parametrize("definition", [PENSION, MEDICAL_V1],
                                         ids=["pension", "medical-v1"])
#: Every version of the transfers (the card application, a service, has tests of its own).
every_version = pytest.mark.parametrize("definition",
                                        [d for d in DEFINITIONS if d.kind == "transfer"],
                                        ids=lambda d: f"{d.name}-v{d.version}")
OTHER_EMPLOYER = Actor("hr-99", "employer")
OTHER_ORIGIN_CLERK = Actor("o-9", "origin_clerk", "110000")
OTHER_DEST_CLERK = Actor("c-99", "destination_clerk", "110000")
SUPERVISOR = Actor("s-1", "supervisor", DESTINATION)


def case_of(definition, state: str = "applied", **overrides) -> CaseFacts:
    """hr-7's complete counter application to ``definition``, in ``state``."""
    return facts(state, full_documents(definition.name), **overrides)


def without(definition, *kinds: str) -> list[str]:
    """The complete application to ``definition`` less ``kinds``."""
    return [k for k in full_documents(definition.name) if k not in kinds]


def application(definition=PENSION, **changes) -> dict:
    """decide_open on hr-7's complete counter application from Shanghai to Shenzhen."""
    args = dict(person_id=PERSON_ID, person_name="张三", origin=ORIGIN, destination=DESTINATION,
                applicant="employer", channel="counter", documents=full_documents(definition.name),
                actor=APPLICANT)
    if definition.schemes:
        args.update(origin_scheme="urban_employee", destination_scheme="urban_employee")
    return decide_open(definition, **{**args, **changes})


# who may take a step

@letter_process
def test_only_a_destination_clerk_of_the_destination_agency_may_review(definition):
    """The origin's clerk, a destination clerk of another agency and the applicant may not
    review; each refusal names who may: a destination_clerk of agency 440300."""
    for actor in (ORIGIN_CLERK, OTHER_DEST_CLERK, APPLICANT):
        with pytest.raises(NotPermitted, match="destination_clerk of agency 440300"):
            decide(definition, case_of(definition), "review", actor)


@letter_process
def test_only_an_origin_clerk_of_the_origin_agency_may_move_funds(definition):
    """After the contact letter, neither the destination's clerk nor an origin clerk of another
    agency may move the funds; each refusal names an origin_clerk of agency 310000."""
    for actor in (DEST_CLERK, OTHER_ORIGIN_CLERK):
        with pytest.raises(NotPermitted, match="origin_clerk of agency 310000"):
            decide(definition, case_of(definition, "letter_sent"), "move_funds", actor,
                   documents=["information_form"], inputs={"amount": 100})


@letter_process
def test_only_the_applicant_who_opened_the_case_may_withdraw_or_resubmit(definition):
    """Another employer saying "employer", a person saying "self", an origin clerk and a
    destination clerk of another agency may not withdraw or resubmit hr-7's case, each told
    that the applicant (employer hr-7) may; hr-7 resubmits."""
    waiting = facts("awaiting_documents", without(definition, "id_card"), requested=("id_card",))
    for stranger in (OTHER_EMPLOYER, Actor("p-1", "self", person_id=OTHER_PERSON_ID),
                     ORIGIN_CLERK, OTHER_DEST_CLERK):
        with pytest.raises(NotPermitted, match=r"the applicant \(employer hr-7\)"):
            decide(definition, case_of(definition), "withdraw", stranger)
        with pytest.raises(NotPermitted, match=r"the applicant \(employer hr-7\)"):
            decide(definition, waiting, "resubmit", stranger, documents=["id_card"])
    assert decide(definition, waiting, "resubmit", APPLICANT,
                  documents=["id_card"]).dest == "applied"


@every_version
def test_the_applicant_may_withdraw_from_every_running_state(definition):
    """From every state but the final ones the applicant withdraws the case in their own name,
    which ends it and every span still running."""
    for state in sorted(set(definition.states) - set(definition.final_states)):
        step = decide(definition, case_of(definition, state), "withdraw", APPLICANT)
        assert (step.dest, step.spans_ended, step.inputs) == ("withdrawn", None, {})


def test_a_supervisor_attaches_no_documents():
    """A supervisor reads cases but attaches no document to one, as they fire no step."""
    with pytest.raises(NotPermitted, match="supervisor s-1 of agency 440300 may not"):
        decide_attach(PENSION, facts(), SUPERVISOR, ["id_card"])


def test_a_person_opens_a_case_for_themselves_only_with_their_own_id_number():
    """A self actor giving another person's ID number, or none at all, may not open the
    person's case."""
    for stranger in (Actor("p-2", "self", person_id=OTHER_PERSON_ID), Actor("p-2", "self")):
        with pytest.raises(NotPermitted, match="for themselves"):
            application(MEDICAL, applicant="self", actor=stranger)


def test_a_clerk_of_a_third_agency_may_neither_open_nor_accept_a_medical_case():
    """43号 lets the clerk of either end open and accept a medical case, and no one else: a
    clerk of 110000 is refused both, told who may."""
    stranger = Actor("x-1", "destination_clerk", "110000")
    with pytest.raises(NotPermitted, match="origin_clerk of agency 310000 or a destination_clerk"):
        application(MEDICAL, actor=stranger)
    with pytest.raises(NotPermitted):
        decide(MEDICAL, case_of(MEDICAL), "review", stranger)


# which documents a step needs

@letter_process
def test_an_agent_must_bring_a_power_of_attorney_and_the_clients_id_copy(definition):
    """An agent's otherwise complete application is refused review for the power of attorney
    and the copy of the client's ID card, named by kind and by title."""
    agents = case_of(definition, applicant="agent", applicant_id="ag-1")
    with pytest.raises(MissingDocuments) as missing:
        decide(definition, agents, "review", DEST_CLERK)
    assert missing.value.kinds == ("power_of_attorney", "client_id_copy")
    assert "power of attorney" in str(missing.value)


@letter_process
def test_online_applications_need_identity_authentication_instead_of_paper_copies(definition):
    """An online application without the ID card is refused review for identity
    authentication alone; once that is attached, the review passes."""
    online = facts(documents=without(definition, "id_card"), channel="online")
    with pytest.raises(MissingDocuments) as missing:
        decide(definition, online, "review", DEST_CLERK)
    assert missing.value.kinds == ("identity_authentication",)
    attached = decide_attach(definition, online, APPLICANT, ["identity_authentication"])
    held = dataclasses.replace(online, documents=frozenset(attached.documents))
    assert decide(definition, held, "review", DEST_CLERK).dest == "reviewed"


def test_pension_needs_the_endowment_manual_and_medical_v1_the_insurance_card():
    """Without its insurance's own booklet an application is refused review: the endowment
    manual for pension, the medical insurance card for medical version 1."""
    for definition, kind in ((PENSION, "endowment_manual"), (MEDICAL_V1, "medical_insurance_card")):
        with pytest.raises(MissingDocuments) as missing:
            decide(definition, facts(documents=without(definition, kind)), "review", DEST_CLERK)
        assert missing.value.kinds == (kind,)


@letter_process
def test_moving_funds_needs_the_information_form(definition):
    """The origin's clerk moving the funds without the information form is refused naming it."""
    with pytest.raises(MissingDocuments) as missing:
        decide(definition, case_of(definition, "letter_sent"), "move_funds", ORIGIN_CLERK,
               inputs={"amount": 100})
    assert missing.value.kinds == ("information_form",)


@letter_process
def test_resubmitting_without_every_requested_document_is_refused_naming_the_rest(definition):
    """Asked for the payment voucher and the employment certificate, an applicant who brings
    the voucher alone is refused naming the certificate."""
    requested = ("payment_voucher", "employment_certificate")
    waiting = facts("awaiting_documents", without(definition, *requested), requested=requested)
    with pytest.raises(MissingDocuments) as missing:
        decide(definition, waiting, "resubmit", APPLICANT, documents=["payment_voucher"])
    assert missing.value.kinds == ("employment_certificate",)


def test_an_unknown_document_is_refused_whether_attached_or_brought_with_a_step():
    """A passport is no document kind of the catalogue: attaching one and bringing one with a
    review are refused naming it."""
    with pytest.raises(InvalidInput, match="passport"):
        decide_attach(PENSION, facts(), APPLICANT, ["passport"])
    with pytest.raises(InvalidInput, match="passport"):
        decide(PENSION, facts(), "review", DEST_CLERK, documents=["passport"])


# in which state

@letter_process
@pytest.mark.parametrize("trigger", ["send_letter", "move_funds", "continue_relationship",
                                     "resubmit"])
def test_a_trigger_from_the_wrong_state_is_an_invalid_transition(definition, trigger):
    """Sending the letter, moving the funds, continuing or resubmitting while the case is
    applied is an invalid transition naming the state and the four steps allowed there."""
    with pytest.raises(InvalidTransition) as refused:
        decide(definition, case_of(definition), trigger, DEST_CLERK)
    assert refused.value.state == "applied"
    assert set(refused.value.allowed) == {"review", "reject", "request_documents", "withdraw"}


# the inputs of a step

@every_version
@pytest.mark.parametrize("explanation", [None, "", "   "])
def test_a_rejection_without_a_written_explanation_is_refused(definition, explanation):
    """A rejection with no explanation, an empty one or one of blanks only is refused."""
    with pytest.raises(InvalidInput, match="explanation"):
        decide(definition, case_of(definition), "reject", DEST_CLERK,
               inputs={"explanation": explanation})


@every_version
@pytest.mark.parametrize("needed", [None, [], ["passport"], "id_card"])
def test_requesting_documents_must_name_known_document_kinds(definition, needed):
    """A request for documents naming none, an unknown kind, or one kind as bare text instead
    of a list is refused."""
    with pytest.raises(InvalidInput):
        decide(definition, case_of(definition), "request_documents", DEST_CLERK,
               inputs={"documents_needed": needed})


def move_funds(amount: object):
    """The origin's clerk moves the funds of a pension case with the information form."""
    return decide(PENSION, facts("letter_sent"), "move_funds", ORIGIN_CLERK,
                  documents=["information_form"], inputs={"amount": amount})


@pytest.mark.parametrize("amount", [None, 12345.6, "12.345", "-1", "lots", True, Decimal("NaN")])
def test_the_transferred_amount_must_be_exact_money(amount):
    """Moving the funds needs an amount that is exact money: not missing, a float, a bool, NaN,
    text that is no sum, negative, or finer than a fen."""
    with pytest.raises(InvalidInput, match="amount"):
        move_funds(amount)


@pytest.mark.parametrize("amount", [
    "1e3", "1E3", "12,345.00", "0x10", "Infinity", "٣٠", "+5", ".5", "5.", "1_000",
    str(10 ** 17), 10 ** 30, Decimal("1e30"), Decimal("92233720368547758.08"), -(10 ** 30),
    "9" * 100_000,
])
def test_an_amount_that_is_no_plain_sum_within_the_database_column_is_refused(amount):
    """No exponent, separators or sign; at most 92233720368547758.07 yuan (a BIGINT of fen);
    the refusal is short, never the whole of what was typed."""
    with pytest.raises(InvalidInput) as refused:
        move_funds(amount)
    assert len(str(refused.value)) < 200


@pytest.mark.parametrize("typed", [" １２３４５.６０ ", "12345.60\n", "１２３４５．６０"])
def test_an_amount_typed_with_full_width_digits_or_padding_is_the_exact_sum(typed):
    """An amount typed with full-width digits, a full-width point or padding is the exact sum
    12345.60, as the step records it."""
    assert move_funds(typed).inputs == {"amount": "12345.60"}


def continue_relationship(months: object):
    """The destination's clerk continues a pension case whose funds arrived."""
    return decide(PENSION, facts("funds_moved"), "continue_relationship", DEST_CLERK,
                  inputs={"contribution_months": months})


@pytest.mark.parametrize("months", [None, -1, 12.0, "12", True])
def test_continuing_needs_whole_cumulative_contribution_months(months):
    """Continuing needs the cumulative contribution months as a whole number: not missing,
    negative, a float, text or a bool."""
    with pytest.raises(InvalidInput, match="contribution_months"):
        continue_relationship(months)


@pytest.mark.parametrize("months", [10 ** 30, 10 ** 6, 721, -1])
def test_contribution_months_beyond_a_working_life_are_refused_naming_the_bound(months):
    """More than 720 contribution months (60 years), or fewer than none, is refused naming the
    bound."""
    with pytest.raises(InvalidInput, match=r"from 0 to 720 \(60 years of working life\)"):
        continue_relationship(months)


def test_a_working_life_of_contribution_months_is_accepted():
    """720 contribution months, a whole working life of 60 years, are accepted as they are."""
    assert continue_relationship(720).inputs == {"contribution_months": 720}


# what an application holds

@pytest.mark.parametrize("change", [
    {"person_id": "110105194912310021"},  # wrong check digit
    {"person_id": "11010519491231"},
    {"person_name": " "},
    {"origin": "440300"},  # same as the destination
    {"origin": "31000"},
    {"destination": "990000"},  # no such province
    {"applicant": "friend"},
    {"channel": "post"},
    {"documents": ["passport"]},
])
def test_an_invalid_application_is_refused(change):
    """An application with a bad ID number or name, the same or a malformed agency, an unknown
    applicant kind, channel or document is refused as invalid input."""
    with pytest.raises(InvalidInput):
        application(**change)


def test_an_invalid_id_number_is_not_echoed_in_the_error():
    """A refused ID number is not repeated in the error, which may end up in a log."""
    with pytest.raises(InvalidInput) as refused:
        application(person_id="110105194912310021")
    assert "110105194912310021" not in str(refused.value)


def test_an_id_number_typed_with_full_width_digits_and_padding_is_read_as_ascii():
    """An ID number typed in full-width digits with a lower-case x and padding is the ASCII
    number the case is opened with."""
    assert application(person_id=" １１０１０５１９４９１２３１００２ｘ\n")["person_id"] == PERSON_ID


def test_applicant_channel_documents_and_a_trigger_are_normalised_too():
    """Padding around the applicant kind, the channel, each document kind and a trigger is
    dropped before they are checked."""
    fields = application(applicant=" employer\n", channel="counter ",
                         documents=[f" {d}\n" for d in full_documents("pension_transfer")])
    assert (fields["applicant"], fields["channel"]) == ("employer", "counter")
    assert set(fields["documents"]) == set(full_documents("pension_transfer"))
    assert decide(PENSION, facts(), "review\n", DEST_CLERK).dest == "reviewed"


@pytest.mark.parametrize("code", ["٣١٠٠٠٠", "310 000", "31000", "3100000", "310000x", "", None,
                                  310000])
def test_an_agency_code_that_is_not_six_ascii_digits_once_normalised_is_refused(code):
    """Arabic-Indic digits are digits to Python, but no GB/T 2260 code; nor is a number, a
    code with a space, five or seven digits, or nothing."""
    with pytest.raises(InvalidInput, match="6-digit administrative division code"):
        application(origin=code)


@pytest.mark.parametrize("code", ["449999", "123456", "110103", "990000"])
def test_an_agency_code_not_in_use_in_gb_t_2260_is_refused(code):
    """449999 and 123456 have a real province prefix but name nothing; 110103 (崇文区) was
    abolished in 2010; the refusal says where a code newer than the list goes."""
    assert name_of(code) is None
    with pytest.raises(InvalidInput) as refused:
        application(destination=code)
    assert f"destination {code} is not a GB/T 2260 division code in use" in str(refused.value)
    assert "divisions_extra.yaml" in str(refused.value)


@pytest.mark.parametrize("origin", ["110000", "440100", "110105"])
def test_province_prefecture_and_county_codes_are_agencies(origin):
    """A province (110000), a prefecture (440100) and a county (110105) are each an agency."""
    assert application(origin=origin)["origin"] == origin


def test_a_clerk_of_an_agency_not_in_the_list_is_refused():
    """A clerk whose agency code names no division in use may not take a step."""
    with pytest.raises(InvalidInput, match="449999 is not a GB/T 2260 division code"):
        decide(PENSION, facts(), "review", Actor("c-1", "destination_clerk", "449999"))


def id_number(place: str, birth: dt.date) -> str:
    """A resident ID number of ``place`` and ``birth`` with a right check digit."""
    body = f"{place}{birth:%Y%m%d}001"
    return body + ric.calc_check_digit(body + "0")


@pytest.mark.parametrize("birth", [dt.date(2099, 12, 31), today() + dt.timedelta(days=1)])
def test_an_id_number_with_a_birth_date_in_the_future_is_refused(birth):
    """An ID number whose check digit is right but whose birth date is after today is refused,
    saying so without repeating the number."""
    number = id_number("110105", birth)
    assert ric.is_valid(number)
    with pytest.raises(InvalidInput) as refused:
        application(person_id=number, today=today())
    assert "birth date is in the future" in str(refused.value)
    assert number not in str(refused.value)


def test_an_id_number_of_someone_born_today_is_accepted():
    """A person born today has a valid ID number."""
    number = id_number("110105", today())
    assert application(person_id=number, today=today())["person_id"] == number


@pytest.mark.parametrize("name, words", [
    ("张\x00三", "a control character (U+0000)"),
    ("张三\x07", "a control character (U+0007)"),
    ("张\n三", "a control character (U+000A)"),
    ("张三\u202e", "a control character (U+202E)"),
    ("张三😀", "'😀' (U+1F600)"),
    ('=HYPERLINK("http://x","点我")', "'=' (U+003D)"),
    ("[/]", "'[' (U+005B)"),
    ("张" * 101, "101 characters long; the limit is 100"),
    ("张" * 100_000, "the limit is 100"),
])
def test_a_name_with_control_characters_symbols_emoji_or_too_long_is_refused(name, words):
    """A name with a control character, an emoji or a symbol is refused naming the character
    by its code point, and one over 100 characters by its length; always in one line."""
    with pytest.raises(InvalidInput) as refused:
        application(person_name=name)
    assert words in str(refused.value) and "\n" not in str(refused.value)


@pytest.mark.parametrize("schemes, words", [
    ({"origin_scheme": None}, "origin_scheme must be one of urban_employee, urban_rural_resident"),
    ({"destination_scheme": "new_rural_cooperative"}, "destination_scheme must be one of"),
])
def test_a_medical_application_since_2021_must_name_a_known_scheme_at_each_end(schemes, words):
    """Medical version 2 records the insurance scheme at each end: a missing or unknown one is
    refused, naming the schemes there are."""
    with pytest.raises(InvalidInput, match=words):
        application(MEDICAL, **schemes)


def test_a_pension_application_names_no_scheme():
    """Pension records no insurance scheme: an application naming one is refused, saying which
    to leave out."""
    with pytest.raises(InvalidInput, match="records no insurance scheme: leave out origin_scheme"):
        application(PENSION, origin_scheme="urban_employee")
