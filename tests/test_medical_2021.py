"""Medical insurance under the 2021 national measures (医保办发〔2021〕43号): medical_transfer
version 2, next to version 1 (the seeds' contact-letter process) that older cases keep running on."""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import (
    DEST_CLERK,
    ORIGIN,
    ORIGIN_CLERK,
    OTHER_PERSON_ID,
    PERSON_ID,
    letter_process_definitions,
    open_case,
    snapshot,
)

from workflow import Engine, InvalidInput, InvalidRow

D = dt.date
GOLDEN = Path(__file__).parent / "golden" / "medical-v1-0002.db"


def running(engine, case_id):
    return {s.name: s for s in engine.spans(case_id) if s.ended_on is None}


def test_new_medical_cases_run_on_version_2_with_the_schemes_at_both_ends(engine):
    """A new medical case runs on version 2 and stores the insurance scheme at each end, read back
    with the case and in its dict."""
    case = open_case(engine, "medical_transfer", origin_scheme="urban_employee",
                     destination_scheme="urban_rural_resident")
    assert case.definition_version == 2
    assert (case.origin_scheme, case.destination_scheme) == ("urban_employee", "urban_rural_resident")
    stored = engine.get(case.id)
    assert (stored.origin_scheme, stored.destination_scheme) == ("urban_employee",
                                                                  "urban_rural_resident")
    assert stored.to_dict()["destination_scheme"] == "urban_rural_resident"


def test_the_origin_transfers_out_within_10_working_days_of_accepting_the_application(engine):
    """43号: accepted Monday 2025-09-29, so (National Day holiday 10-01..10-08, Saturday 10-11
    a make-up working day) the origin must transfer out by 2025-10-20; no contact letter."""
    case = open_case(engine, "medical_transfer")
    assert running(engine, case.id) == {}  # acceptance has no statutory limit
    case = engine.fire(case.id, "review", actor=DEST_CLERK, on=D(2025, 9, 29))
    assert case.state == "reviewed"
    out = running(engine, case.id)["origin_transfer"]
    assert (out.owner_agency, out.limit_working_days, out.due_on) == (ORIGIN, 10, D(2025, 10, 20))
    before = snapshot(engine)
    with pytest.raises(InvalidInput, match="'send_letter' is not a trigger"):
        engine.fire(case.id, "send_letter", actor=DEST_CLERK, on=D(2025, 9, 30))
    assert snapshot(engine) == before


def test_the_destination_transfers_in_within_5_working_days_of_receiving_the_form(engine):
    """43号: the information form sent on Friday 2025-10-17 must be taken in by 2025-10-24."""
    case = open_case(engine, "medical_transfer")
    engine.fire(case.id, "review", actor=DEST_CLERK, on=D(2025, 9, 29))
    case = engine.fire(case.id, "move_funds", actor=ORIGIN_CLERK, on=D(2025, 10, 17),
                       documents=["information_form"], amount=Decimal("0"))
    spans = running(engine, case.id)
    assert set(spans) == {"destination_continuation"}
    assert (spans["destination_continuation"].limit_working_days,
            spans["destination_continuation"].due_on) == (5, D(2025, 10, 24))
    case = engine.fire(case.id, "continue_relationship", actor=DEST_CLERK, on=D(2025, 10, 24),
                       contribution_months=40)
    assert case.state == "continued"


def test_the_application_may_be_made_and_accepted_at_the_origin_agency(engine):
    """43号: at the counter of either agency (2025-09-26 at the origin, accepted there)."""
    case = open_case(engine, "medical_transfer", actor=ORIGIN_CLERK)
    assert engine.history(case.id)[0].actor_agency == ORIGIN
    case = engine.fire(case.id, "review", actor=ORIGIN_CLERK, on=D(2025, 9, 29))
    assert case.state == "reviewed"


def test_a_medical_case_opened_on_version_1_keeps_running_on_it(db_url, tmp_path):
    """A case opened on 2025-09-26 before version 2 was installed still needs its contact letter."""
    with Engine(db_url, definitions=letter_process_definitions(tmp_path)) as engine:
        old = open_case(engine, "medical_transfer")
        assert old.definition_version == 1
    with Engine(db_url) as engine:
        # another person's (one running transfer per person and insurance)
        new = open_case(engine, "medical_transfer", person_id=OTHER_PERSON_ID)
        assert new.definition_version == 2
        engine.fire(old.id, "review", actor=DEST_CLERK, on=D(2025, 10, 9))
        moved = engine.fire(old.id, "send_letter", actor=DEST_CLERK, on=D(2025, 10, 10))
        assert (moved.state, moved.definition_version) == ("letter_sent", 1)
        assert running(engine, old.id)["origin_transfer"].limit_working_days == 15


def test_a_golden_database_of_medical_v1_cases_still_runs_to_the_end(tmp_path):
    """tests/golden/medical-v1-0002.db was written before version 2 existed (schema 0002):
    four medical cases (applied, reviewed, letter_sent, funds_moved, received 2025-09-26).
    It upgrades, and each runs to `continued` on version 1."""
    db = tmp_path / "golden.db"
    shutil.copy(GOLDEN, db)
    with Engine(f"sqlite:///{db}") as engine:
        cases = engine.cases(definition="medical_transfer")
        assert [(c.state, c.definition_version) for c in cases] == [
            ("applied", 1), ("reviewed", 1), ("letter_sent", 1), ("funds_moved", 1)]
        steps = [("review", DEST_CLERK, {}), ("send_letter", DEST_CLERK, {}),
                 ("move_funds", ORIGIN_CLERK, {"documents": ["information_form"], "amount": 1}),
                 ("continue_relationship", DEST_CLERK, {"contribution_months": 12})]
        for i, case in enumerate(cases):
            for trigger, actor, kwargs in steps[i:]:
                case = engine.fire(case.id, trigger, actor=actor, on=D(2025, 10, 21), **kwargs)
            assert (case.state, case.definition_version) == ("continued", 1)
        assert open_case(engine, "medical_transfer").definition_version == 2
        assert engine.get(1).origin_scheme is None  # version 1 records no scheme


def test_a_bulk_import_names_the_line_of_a_medical_row_without_schemes(engine):
    """Line 3 of a batch received 2025-09-26 lacks the destination scheme: nothing is opened."""
    row = dict(definition="medical_transfer", person_id=PERSON_ID, person_name="张三",
               origin=ORIGIN, destination="440300", applicant="employer",
               documents=["application_form", "id_card"], origin_scheme="urban_employee",
               destination_scheme="urban_rural_resident")
    before = snapshot(engine)
    with pytest.raises(InvalidRow, match="line 3: destination_scheme must be one of"):
        engine.open_cases([row, {**row, "destination_scheme": None}], actor=DEST_CLERK,
                          on=D(2025, 9, 26), first_line=2)
    assert snapshot(engine) == before
    [case_id] = engine.open_cases([row], actor=DEST_CLERK, on=D(2025, 9, 26))
    assert engine.get(case_id).destination_scheme == "urban_rural_resident"
