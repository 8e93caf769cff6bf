"""A state machine of random use of the engine, through its public API only.

Hypothesis opens pension and medical cases and fires random triggers on them (allowed and
not allowed in the case's state) by random actors (the case's applicant, another applicant,
clerks of the right and of the wrong agency, a supervisor), with random documents (the ones
needed, none, unknown kinds), inputs and business dates (in order, before the case's last
step, after today). After every step, for every case, the rules that hold whatever happened:

- the history is gap-free (seq 1..n), each row starts where the previous one ended, and its
  business dates never go back;
- the case's version is the number of its history rows, its state the last row's ``to_state``;
- a refused call is a :class:`WorkflowError` and changes nothing: case, history and spans
  are exactly as before; a step taken changes no other case;
- a step the state allows, fired by whom the definition names with what it needs, is taken;
- the running spans (``ended_on`` None) are the ones the definition says run after the
  history's events (``starts_on``/``ends_on``; none once the case is in a final state), each
  at most once.

Every business date is fixed (from 2025-09-26), so nothing depends on the day it runs.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from workflow import (
    Actor,
    Definition,
    Engine,
    InvalidInput,
    InvalidTransition,
    Settings,
    WorkflowError,
)
from workflow.testing import valid_person_id

ORIGIN, DESTINATION, ELSEWHERE = "310000", "440300", "110000"
RECEIVED = dt.date(2025, 9, 26)
LAST_DAY = dt.date(2026, 6, 30)  # business dates stay before this day, long past
TOO_FAR_AHEAD = dt.date(2100, 1, 1)  # after today for as long as this code runs
DEFINITIONS = ["pension_transfer", "medical_transfer"]
TRIGGERS = ["review", "reject", "request_documents", "resubmit", "send_letter", "move_funds",
            "continue_relationship", "withdraw", "approve"]  # the last one exists nowhere
KINDS = ["application_form", "id_card", "identity_authentication", "payment_voucher",
         "endowment_manual", "medical_insurance_card", "employment_certificate",
         "power_of_attorney", "client_id_copy", "contact_letter", "information_form"]
UNKNOWN_KIND = "birth_certificate"
GOOD_INPUTS = {"explanation": "材料不符合条件", "documents_needed": ["employment_certificate"],
               "amount": Decimal("12345.60"), "contribution_months": 126}
BAD_INPUTS = {"explanation": " ", "documents_needed": [UNKNOWN_KIND], "amount": 12345.6,
              "contribution_months": 721}

STEPS = settings(max_examples=25, stateful_step_count=25, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow,
                                        HealthCheck.function_scoped_fixture])

# Who acts: "right" is whoever the definition names for the trigger (the applicant, the
# destination's clerk or the origin's); the others are right only by chance. "right" is
# listed thrice so that cases often get past their first steps.
ACTORS = ["right", "right", "right", "applicant", "other_employer", "agent", "self",
          "other_person", "destination_clerk", "origin_clerk", "clerk_elsewhere",
          "origin_clerk_elsewhere", "supervisor"]
DOCUMENTS = ["needed", "needed", "none", "some", "unknown"]
DATES = ["same", "later", "later", "before", "ahead"]


class CaseModel:
    """What the test knows of a case beyond the engine: who applied and with which number."""

    def __init__(self, case_id: int, person_id: str, applicant: Actor | None) -> None:
        self.id, self.person_id, self.applicant = case_id, person_id, applicant


class Transfers(RuleBasedStateMachine):
    """Random opening, firing and attaching on one engine; every case checked after each step."""

    engine: Engine  # set by the test: one SQLite engine for every example

    cases = Bundle("cases")

    def __init__(self) -> None:
        super().__init__()
        self.models: list[CaseModel] = []

    # --- what a case looks like through the public API -----------------------------------
    def _view(self, model: CaseModel) -> tuple:
        e = self.engine
        return e.get(model.id), tuple(e.history(model.id)), tuple(e.spans(model.id))

    def _views(self) -> list[tuple]:
        return [self._view(m) for m in self.models]

    def _refused_changes_nothing(self, call, before: list[tuple], count: int,
                                 own: int | None = None) -> object:
        """Run ``call``; if refused, it is a WorkflowError and every case is as it was; if
        not, it changed no case but its own (``own``; a new case: none of the others)."""
        try:
            result = call()
        except WorkflowError as refusal:
            assert self._views() == before, f"refused ({refusal!r}) but something changed"
            assert len(self.engine.cases()) == count
            return refusal
        others = [(m.id, view) for m, view in zip(self.models, before, strict=True) if m.id != own]
        assert [(m_id, self._view(self._model(m_id))) for m_id, _ in others] == others
        return result

    def _model(self, case_id: int) -> CaseModel:
        return next(m for m in self.models if m.id == case_id)

    def _actor(self, who: str, trigger: str, model: CaseModel, definition: Definition) -> Actor:
        case_seed = model.id % 500
        if who == "right":
            spec = next((t for t in definition.transitions.values() if t.trigger == trigger), None)
            role = spec.roles[0] if spec else "destination_clerk"
            who = "applicant" if role == "applicant" else role
        if who == "applicant":
            return model.applicant or Actor("hr-7", "employer")
        return {
            "other_employer": Actor("hr-8", "employer"),
            "agent": Actor("ag-1", "agent"),
            "self": Actor("p-1", "self", person_id=model.person_id),
            "other_person": Actor("p-2", "self", person_id=valid_person_id(seed=500 + case_seed)),
            "destination_clerk": Actor("c-12", "destination_clerk", DESTINATION),
            "origin_clerk": Actor("o-3", "origin_clerk", ORIGIN),
            "clerk_elsewhere": Actor("c-99", "destination_clerk", ELSEWHERE),
            "origin_clerk_elsewhere": Actor("o-99", "origin_clerk", ELSEWHERE),
            "supervisor": Actor("s-1", "supervisor", DESTINATION),
        }[who]

    @staticmethod
    def _date(how: str, days: int, last: dt.date) -> dt.date:
        if how == "before":
            return last - dt.timedelta(days=days)
        if how == "ahead":
            return TOO_FAR_AHEAD
        if how == "later":
            return min(last + dt.timedelta(days=days), max(last, LAST_DAY))
        return last

    @staticmethod
    def _documents(how: str, subset: list[str], trigger: str, state: str,
                   definition: Definition, case) -> list[str]:
        if how == "none":
            return []
        if how == "some":
            return subset
        if how == "unknown":
            return [*subset, UNKNOWN_KIND]
        spec = definition.transitions.get((trigger, state))
        if spec is None:
            return subset
        needed = [*spec.requires, *case.requested_documents]
        if "application_complete" in spec.guards:
            needed += definition.application_documents(case.applicant, case.channel)
        return list(dict.fromkeys(needed))

    # --- rules -----------------------------------------------------------------------------
    @rule(target=cases, definition=st.sampled_from(DEFINITIONS),
          kind=st.sampled_from(["employer", "agent", "self"]),
          channel=st.sampled_from(["counter", "online"]),
          opener=st.sampled_from(["applicant", "applicant", "destination_clerk", "origin_clerk",
                                  "clerk_elsewhere", "other_person"]),
          documents=st.sampled_from(["complete", "complete", "short", "unknown"]),
          days=st.integers(0, 30))
    def open_case(self, definition: str, kind: str, channel: str, opener: str,
                  documents: str, days: int):
        d = self.engine.definition(definition)
        # A new person for each case written (one running transfer per person and insurance;
        # the database outlives one example): numbered by the cases stored so far.
        n = len(self.engine.cases())
        person_id = valid_person_id(dt.date(1970, 1, 1) + dt.timedelta(days=n), seed=n)
        applicant = {"employer": Actor("hr-7", "employer"), "agent": Actor("ag-1", "agent"),
                     "self": Actor("p-1", "self", person_id=person_id)}[kind]
        actor = {"applicant": applicant,
                 "destination_clerk": Actor("c-12", "destination_clerk", DESTINATION),
                 "origin_clerk": Actor("o-3", "origin_clerk", ORIGIN),
                 "clerk_elsewhere": Actor("c-99", "destination_clerk", ELSEWHERE),
                 "other_person": Actor("p-2", "self",
                                       person_id=valid_person_id(seed=999))}[opener]
        docs = list(d.application_documents(kind, channel))
        docs = {"complete": docs, "short": docs[1:], "unknown": [*docs, UNKNOWN_KIND]}[documents]
        schemes = ({"origin_scheme": "urban_employee", "destination_scheme": "urban_rural_resident"}
                   if d.schemes else {})
        if kind == "agent":  # an entrusted agent names themselves
            schemes.update(agent_name="李四", agent_id_number=valid_person_id(seed=998))
        before, count = self._views(), len(self.engine.cases())
        result = self._refused_changes_nothing(lambda: self.engine.open_case(
            definition, person_id=person_id, person_name="张三", origin=ORIGIN,
            destination=DESTINATION, applicant=kind, channel=channel, documents=docs,
            actor=actor, on=RECEIVED + dt.timedelta(days=days), **schemes), before, count)
        if isinstance(result, WorkflowError):
            assert documents == "unknown" or opener not in ("applicant", "destination_clerk")
            return multiple()
        assert documents != "unknown"
        assert result.state == d.initial and result.version == 1
        model = CaseModel(result.id, person_id, applicant if actor is applicant else None)
        self.models.append(model)
        return model

    @rule(model=cases, trigger=st.sampled_from(TRIGGERS), allowed=st.integers(0, 5),
          pick_allowed=st.booleans(), who=st.sampled_from(ACTORS),
          documents=st.sampled_from(DOCUMENTS), subset=st.lists(st.sampled_from(KINDS), max_size=3),
          inputs=st.sampled_from(["good", "good", "bad", "none", "extra"]),
          when=st.sampled_from(DATES), days=st.integers(1, 20))
    def fire(self, model: CaseModel, trigger: str, allowed: int, pick_allowed: bool, who: str,
             documents: str, subset: list[str], inputs: str, when: str, days: int) -> None:
        case = self.engine.get(model.id)
        d = self.engine.definition(case.definition, case.definition_version)
        choices = d.allowed_triggers(case.state)
        if pick_allowed and choices:
            trigger = choices[allowed % len(choices)]
        spec = d.transitions.get((trigger, case.state))
        names = spec.inputs if spec else ["amount"]
        given = {"good": {n: GOOD_INPUTS[n] for n in names},
                 "bad": {n: BAD_INPUTS[n] for n in names},
                 "none": {},
                 "extra": {**{n: GOOD_INPUTS[n] for n in names}, "contribution_months": 1,
                           "explanation": "x"}}[inputs]
        on = self._date(when, days, case.last_event_on)
        docs = self._documents(documents, subset, trigger, case.state, d, case)
        actor = self._actor(who, trigger, model, d)
        before, count = self._views(), len(self.engine.cases())
        result = self._refused_changes_nothing(lambda: self.engine.fire(
            model.id, trigger, actor=actor, on=on, documents=docs, **given), before, count, own=model.id)
        if isinstance(result, WorkflowError):
            event(f"refused: {type(result).__name__}")
            return
        event(f"{case.definition}: {trigger} to {result.state}")
        # What went through was a step the definition allows, on a date in order.
        assert trigger in choices, f"{trigger} fired in {case.state}"
        assert result.state == d.transitions[trigger, case.state].dest
        assert result.version == case.version + 1
        assert case.last_event_on <= on <= LAST_DAY

    @rule(model=cases, allowed=st.integers(0, 9), days=st.integers(0, 20))
    def take_an_allowed_step(self, model: CaseModel, allowed: int, days: int) -> None:
        """A step the state allows, fired by whom the definition names (a destination clerk
        on the applicant's behalf where no applicant was recorded) with the documents and
        inputs it needs, on a date in order, is taken. Mostly a step forward (not a
        rejection or withdrawal), so that cases reach their later states."""
        case = self.engine.get(model.id)
        d = self.engine.definition(case.definition, case.definition_version)
        choices = d.allowed_triggers(case.state)
        forward = [t for t in choices if t not in ("reject", "withdraw")]
        if allowed >= 3 and forward:
            choices = forward
        if not choices:
            return
        trigger = choices[allowed % len(choices)]
        spec = d.transitions[trigger, case.state]
        actor = self._actor("right", trigger, model, d)
        if spec.roles[0] == "applicant" and model.applicant is None:
            actor = Actor("c-12", "destination_clerk", DESTINATION)
        on = self._date("later", days, case.last_event_on)
        docs = self._documents("needed", [], trigger, case.state, d, case)
        result = self.engine.fire(model.id, trigger, actor=actor, on=on, documents=docs,
                                  **{n: GOOD_INPUTS[n] for n in spec.inputs})
        event(f"{case.definition}: {trigger} to {result.state}")
        assert result.state == d.transitions[trigger, case.state].dest

    @rule(model=cases, who=st.sampled_from(ACTORS[3:]),
          documents=st.lists(st.sampled_from([*KINDS, UNKNOWN_KIND]), max_size=3),
          when=st.sampled_from(DATES), days=st.integers(1, 20))
    def attach(self, model: CaseModel, who: str, documents: list[str], when: str,
               days: int) -> None:
        case = self.engine.get(model.id)
        d = self.engine.definition(case.definition, case.definition_version)
        actor = self._actor(who, "attach_documents", model, d)
        on = self._date(when, days, case.last_event_on)
        before, count = self._views(), len(self.engine.cases())
        result = self._refused_changes_nothing(lambda: self.engine.attach_documents(
            model.id, documents, actor=actor, on=on), before, count, own=model.id)
        if isinstance(result, WorkflowError):
            return
        assert result.state == case.state and set(documents) <= set(result.documents)
        assert UNKNOWN_KIND not in documents and case.state not in d.final_states

    @rule(model=cases, trigger=st.sampled_from(TRIGGERS))
    def trigger_not_allowed_in_the_state(self, model: CaseModel, trigger: str) -> None:
        """A trigger the case's state does not allow is refused whoever fires it."""
        case = self.engine.get(model.id)
        d = self.engine.definition(case.definition, case.definition_version)
        if trigger in d.allowed_triggers(case.state):
            return
        before, count = self._views(), len(self.engine.cases())
        result = self._refused_changes_nothing(lambda: self.engine.fire(
            model.id, trigger, actor=Actor("c-12", "destination_clerk", DESTINATION),
            on=case.last_event_on), before, count)
        assert isinstance(result, (InvalidTransition, InvalidInput)), result

    # --- invariants --------------------------------------------------------------------------
    @invariant()
    def every_case_is_consistent(self) -> None:
        for model in self.models:
            case, history, spans = self._view(model)
            d = self.engine.definition(case.definition, case.definition_version)
            assert [h.seq for h in history] == list(range(1, len(history) + 1))
            assert case.version == len(history)
            assert case.state == history[-1].to_state
            assert history[0].trigger == "open" and history[0].from_state is None
            for earlier, later in itertools.pairwise(history):
                assert later.from_state == earlier.to_state
                assert earlier.business_date <= later.business_date
            assert case.last_event_on == history[-1].business_date

            running = Counter(s.name for s in spans if s.ended_on is None)
            assert max(running.values(), default=0) <= 1, running
            assert set(running) == self._spans_that_run(d, case.applicant, history)
            if case.state in d.final_states:
                assert not running
            for s in spans:
                assert s.started_on <= (s.ended_on or s.started_on)

    @staticmethod
    def _spans_that_run(d: Definition, applicant: str, history) -> set[str]:
        """The spans the definition says run after these events: each event ends the spans
        it ends, then starts the ones it starts; a final state ends them all."""
        running: set[str] = set()
        for h in history:
            if h.to_state in d.final_states:
                running.clear()
                continue
            running -= set(d.spans_ended_by(h.trigger))
            running |= {s.name for s in d.spans_started_by(h.trigger, applicant)}
        return running


def test_random_use_keeps_every_case_consistent_and_refusals_change_nothing(tmp_path: Path):
    """Whatever is fired, by whom, with what and when: gap-free history, version and state
    agree with it, refusals write nothing, running spans are the definition's."""
    with Engine(f"sqlite:///{tmp_path / 'stateful.db'}", settings=Settings()) as engine:
        Transfers.engine = engine
        try:
            run_state_machine_as_test(Transfers, settings=STEPS)
        finally:
            del Transfers.engine

