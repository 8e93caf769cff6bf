"""Shared fixtures: a fresh engine on a SQLite file, actors, and a database snapshot."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from workflow import Actor, Engine
from workflow.definitions import shipped_definitions_dir
from workflow.store import TABLES

PERSON_ID = "11010519491231002X"
ORIGIN, DESTINATION = "310000", "440300"
RECEIVED = dt.date(2025, 9, 26)
APPLICANT = Actor(id="hr-7", role="employer")
DEST_CLERK = Actor(id="c-12", role="destination_clerk", agency=DESTINATION)
ORIGIN_CLERK = Actor(id="o-3", role="origin_clerk", agency=ORIGIN)
MANUAL = {"pension_transfer": "endowment_manual", "medical_transfer": "medical_insurance_card"}


def full_documents(definition: str) -> list[str]:
    return ["application_form", "id_card", "payment_voucher", MANUAL[definition],
            "employment_certificate"]


@pytest.fixture
def definitions_dir(tmp_path: Path) -> Path:
    """A private copy of the shipped definitions that a test may edit."""
    target = tmp_path / "definitions"
    shutil.copytree(shipped_definitions_dir(), target)
    return target


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cases.db'}"


@pytest.fixture
def engine(db_url: str):
    with Engine(db_url) as e:
        yield e


@pytest.fixture(params=["pension_transfer", "medical_transfer"])
def definition(request) -> str:
    return request.param


def open_case(engine: Engine, definition: str = "pension_transfer", **overrides):
    args = dict(person_id=PERSON_ID, person_name="张三", origin=ORIGIN, destination=DESTINATION,
                applicant="employer", channel="counter", documents=full_documents(definition),
                actor=APPLICANT, on=RECEIVED)
    args.update(overrides)
    return engine.open_case(definition, **args)


def snapshot(engine: Engine) -> dict[str, list[tuple]]:
    """Every row of every engine table, to show that a refused call wrote nothing."""
    with engine.db.connect() as conn:
        return {t.name: sorted(map(tuple, conn.execute(sa.select(t))), key=repr) for t in TABLES}
