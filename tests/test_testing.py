"""``workflow.testing``: each helper a host application's tests use builds something the
engine accepts (on SQLite: the helpers make no database choice of their own)."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
from stdnum.cn import ric

import workflow.testing as testing
from workflow import Actor, InvalidInput, NotPermitted
from workflow.loading import shipped_definitions_dir
from workflow.testing import (
    DESTINATION,
    ORIGIN,
    RECEIVED_ON,
    applicant,
    application,
    clerk,
    destination_clerk,
    engine_for_tests,
    origin_clerk,
    supervisor,
    valid_person_id,
)


@pytest.fixture
def engine(tmp_path):
    with engine_for_tests(tmp_path) as e:
        yield e


def test_every_name_of_all_is_defined_and_nothing_private_is_exported():
    """``workflow.testing.__all__`` lists what the module defines, and no private name."""
    assert all(hasattr(testing, name) for name in testing.__all__)
    assert not [name for name in testing.__all__ if name.startswith("_")]


@pytest.mark.parametrize("birth", [dt.date(1949, 12, 31), dt.date(1980, 1, 1),
                                   dt.date(2000, 2, 29), dt.date(2007, 6, 30)])
@pytest.mark.parametrize("seed", [0, 1, 37, 999, 1000])
def test_valid_person_id_passes_the_resident_id_check_with_its_birth_date(birth, seed):
    """A generated ID number has a correct check digit and the birth date asked for."""
    number = valid_person_id(birth, seed=seed)
    assert ric.is_valid(number)
    assert ric.get_birth_date(number) == birth


def test_different_seeds_give_different_people_and_the_same_seed_the_same_one():
    """valid_person_id is deterministic, and seeds 0..999 are 1000 distinct numbers."""
    assert valid_person_id(seed=7) == valid_person_id(seed=7)
    assert len({valid_person_id(seed=s) for s in range(1000)}) == 1000


def test_the_engine_accepts_a_generated_id_number_as_the_persons(engine):
    """A case opened with a generated ID number stores it (shown masked)."""
    number = valid_person_id(dt.date(1975, 5, 4), seed=42)
    case = engine.open_case(**application(person_id=number))
    assert engine.get(case.id).person_id == number
    assert case.person_id_masked == number[:6] + "*" * 8 + number[-4:]


@pytest.mark.parametrize("definition", ["pension_transfer", "medical_transfer"])
@pytest.mark.parametrize("kind", ["employer", "agent", "self"])
@pytest.mark.parametrize("channel", ["counter", "online"])
def test_an_application_is_complete_enough_to_be_reviewed(engine, definition, kind, channel):
    """application() holds every document the latest definition needs before review, for
    each kind of applicant and channel, and its applicant is the case's."""
    args = application(definition, applicant=kind, channel=channel)
    case = engine.open_case(**args)
    assert (case.origin, case.destination, case.opened_on) == (ORIGIN, DESTINATION, RECEIVED_ON)
    assert case.applicant == kind and case.applicant_id == args["actor"].id
    reviewed = engine.fire(case.id, "review", actor=destination_clerk(), on=RECEIVED_ON)
    assert reviewed.state == "reviewed"
    engine.fire(case.id, "withdraw", actor=args["actor"], on=RECEIVED_ON)  # the applicant's own


def test_overrides_replace_the_applications_fields():
    """Any open_case argument given to application() replaces the default."""
    other = valid_person_id(seed=3)
    args = application(person_id=other, person_name="李四", destination="110000")
    assert (args["person_id"], args["person_name"], args["destination"]) == (other, "李四", "110000")


def test_the_medical_application_names_the_schemes_and_the_pension_one_does_not():
    """Since 2021 a medical case records the scheme at each end; a pension case records none."""
    assert application("medical_transfer")["origin_scheme"] == "urban_employee"
    assert "origin_scheme" not in application("pension_transfer")


def test_clerks_of_the_case_may_act_and_a_supervisor_may_not(engine):
    """The clerk builders make actors of the agencies named: the destination clerk reviews,
    the origin clerk moves funds, a supervisor fires no step."""
    case = engine.open_case(**application())
    with pytest.raises(NotPermitted):
        engine.fire(case.id, "review", actor=supervisor(), on=RECEIVED_ON)
    engine.fire(case.id, "review", actor=clerk(DESTINATION), on=RECEIVED_ON)
    engine.fire(case.id, "send_letter", actor=destination_clerk(), on=RECEIVED_ON)
    moved = engine.fire(case.id, "move_funds", actor=origin_clerk(), on=RECEIVED_ON,
                        documents=["information_form"], amount="100.00")
    assert moved.state == "funds_moved"
    assert clerk(ORIGIN, role="origin_clerk") == origin_clerk()


def test_a_clerk_of_another_agency_is_refused(engine):
    """clerk(agency) acts for that agency only."""
    case = engine.open_case(**application())
    with pytest.raises(NotPermitted):
        engine.fire(case.id, "review", actor=clerk("110000"), on=RECEIVED_ON)


def test_applicant_for_themselves_carries_their_id_number():
    """applicant("self") gives the person's ID number; the other kinds give none."""
    assert applicant("self").person_id == valid_person_id()
    assert applicant("self", person_id=valid_person_id(seed=9)).person_id == valid_person_id(seed=9)
    assert applicant() == Actor("hr-7", "employer")
    assert applicant("agent").role == "agent"
    with pytest.raises(InvalidInput):
        applicant("nobody")


def test_engine_for_tests_ignores_the_settings_file_of_the_environment(tmp_path, monkeypatch):
    """The test engine has the default settings even with $SSTRANSFER_SETTINGS pointing
    elsewhere (a step dated after today is refused, as by default)."""
    monkeypatch.setenv("SSTRANSFER_SETTINGS", str(tmp_path / "missing.toml"))
    with engine_for_tests(tmp_path) as e:
        assert e.settings.max_days_ahead == 0
        assert e.url.endswith("cases.db")


def test_an_application_follows_the_definitions_folder_the_engine_runs_on(tmp_path):
    """With a folder where medical insurance still has only version 1 (the contact letter),
    the medical application names no scheme, and that engine accepts it."""
    folder = tmp_path / "definitions"
    shutil.copytree(shipped_definitions_dir(), folder)
    (folder / "medical_transfer.v2.yaml").unlink()
    args = application("medical_transfer", definitions=folder)
    assert "origin_scheme" not in args
    with engine_for_tests(tmp_path, definitions=folder) as e:
        assert e.open_case(**args).definition_version == 1
