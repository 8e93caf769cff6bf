"""The definition's `transitions` machine decides each step; these tests need no database."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import APPLICANT, DEST_CLERK, ORIGIN_CLERK, full_documents

from workflow import Actor, DefinitionSet, InvalidInput, InvalidTransition, MissingDocuments, NotPermitted
from workflow.core.rules import CaseFacts, _Attempt, decide
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
