"""Moving running cases to a new definition version (issue 20: "an agency fixes a definition
and its running cases should follow"), tried on the golden database of medical_transfer
version 1 cases (tests/golden/medical-v1-0002.db) moved to version 3, on both databases.

The golden database holds four version-1 cases received 2025-09-26: 1 applied, 2 reviewed
(2025-10-09), 3 letter_sent (reviewed 2025-10-09, letter 2025-10-10), 4 funds_moved (funds
2025-10-20). Version 3 (the 2021 measures) has no contact letter: letter_sent maps to reviewed.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import DEST_CLERK, SHIPPED, call_cli, snapshot

from workflow import Engine, InvalidInput, store
from workflow.store import TABLES

D = dt.date
GOLDEN = Path(__file__).parent / "golden" / "medical-v1-0002.db"
LETTER = ["letter_sent=reviewed"]
ON = D(2026, 12, 1)


def _copy_rows(source: str, target: str) -> None:
    """Every engine row of the database at ``source`` written into the one at ``target``
    (both at the newest schema), through the engine's typed tables, and PostgreSQL's id
    sequences moved past the copied ids."""
    src, dst = sa.create_engine(source), store.connect(target)
    store.upgrade(dst)
    tables = sa.sql.ddl.sort_tables(TABLES)
    with src.connect() as read, dst.begin() as write:
        for table in reversed(tables):
            write.execute(table.delete())
        for table in tables:
            rows = [dict(r._mapping) for r in read.execute(sa.select(table))]
            if rows:
                write.execute(table.insert(), rows)
            if "id" in table.c and dst.dialect.name == "postgresql":
                write.execute(sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"(SELECT coalesce(max(id), 0) + 1 FROM {table.name}), false) "
                    f"WHERE pg_get_serial_sequence('{table.name}', 'id') IS NOT NULL"))
    src.dispose()
    dst.dispose()


@pytest.fixture
def golden(db_url: str, tmp_path: Path) -> Engine:
    """The golden medical version-1 database, upgraded; on PostgreSQL, its rows copied there.
    The shipped definitions, medical_transfer version 3 among them."""
    copy = tmp_path / "golden.db"
    shutil.copyfile(GOLDEN, copy)
    url = f"sqlite:///{copy}"
    with Engine(url, definitions=SHIPPED):  # upgrades the file to today's schema
        pass
    if not db_url.startswith("sqlite"):
        _copy_rows(url, db_url)
        url = db_url
    with Engine(url, definitions=SHIPPED) as engine:
        yield engine


def _running(engine: Engine, case_id: int) -> dict[str, tuple[dt.date, int | None, dt.date]]:
    return {s.name: (s.started_on, s.limit_working_days, s.due_on)
            for s in engine.spans(case_id) if s.ended_on is None}


def test_every_running_case_of_version_1_moves_to_version_3_with_a_migrated_history_row(golden):
    """Issue 20: "every running case of version V moves to W in its own transaction, with a
    `migrated` history row (who, when, from, to, the state mapping)"."""
    versions = {c.id: c.version for c in golden.cases()}
    done = golden.migrate_cases("medical_transfer", 1, 3, LETTER, by="ops-li", on=ON)
    assert [(m.case_id, m.state, m.new_state, m.outcome) for m in done] == [
        (1, "applied", "applied", "migrated"), (2, "reviewed", "reviewed", "migrated"),
        (3, "letter_sent", "reviewed", "migrated"), (4, "funds_moved", "funds_moved", "migrated")]
    for case in golden.cases():
        assert (case.definition_version, case.version) == (3, versions[case.id] + 1)
        row = golden.history(case.id)[-1]
        assert (row.trigger, row.actor_id, row.actor_role, row.business_date) == (
            "migrated", "ops-li", "operator", ON)
        assert (row.inputs["from_version"], row.inputs["to_version"]) == (1, 3)
        assert row.inputs["mapping"]["letter_sent"] == "reviewed"
    assert golden.history(3)[-1].from_state == "letter_sent"
    assert golden.history(3)[-1].to_state == "reviewed"


def test_spans_are_recomputed_under_the_new_limits_from_their_original_start_dates(golden):
    """Issue 20: "spans are recomputed under W's limits from their original start dates".
    Version 3 gives the origin 10 working days from acceptance and the destination 5 from
    the funds; it has no destination review. Case 3's origin transfer (letter 2025-10-10)
    is due 2025-10-23; case 2 (accepted 2025-10-09, no letter yet) gets the origin transfer
    from its acceptance, due 2025-10-22; case 4's continuation (funds 2025-10-20) is due
    2025-10-27; the destination reviews still running end on the day of the migration."""
    golden.migrate_cases("medical_transfer", 1, 3, LETTER, by="ops-li", on=ON)
    assert _running(golden, 1) == {}
    assert _running(golden, 2) == {"origin_transfer": (D(2025, 10, 9), 10, D(2025, 10, 22))}
    assert _running(golden, 3) == {"origin_transfer": (D(2025, 10, 10), 10, D(2025, 10, 23))}
    assert _running(golden, 4) == {
        "destination_continuation": (D(2025, 10, 20), 5, D(2025, 10, 27))}
    review = next(s for s in golden.spans(1) if s.name == "destination_review")
    assert review.ended_on == ON


def test_a_case_whose_state_has_no_mapping_is_refused_listed_and_left_unchanged(golden):
    """Issue 20: "a case whose state has no mapping ... is refused and listed, and nothing of
    it changes". Without letter_sent=reviewed, case 3 (letter_sent) and case 4 (whose history
    passed through letter_sent) are refused; cases 1 and 2 move."""
    before = {i: (golden.get(i), golden.history(i), golden.spans(i)) for i in (3, 4)}
    done = golden.migrate_cases("medical_transfer", 1, 3, by="ops-li", on=ON)
    outcome = {m.case_id: (m.outcome, m.reason) for m in done}
    assert outcome[1][0] == outcome[2][0] == "migrated"
    assert outcome[3] == ("refused", "its state 'letter_sent' has no mapping to version 3")
    assert outcome[4] == ("refused", "its history passed through 'letter_sent', which has no "
                                     "mapping to version 3")
    assert {i: (golden.get(i), golden.history(i), golden.spans(i)) for i in (3, 4)} == before


def test_a_case_whose_history_the_new_version_could_not_have_produced_is_refused(golden):
    """Issue 20: a case "whose history W could not have produced, is refused and listed, and
    nothing of it changes". Mapping letter_sent to applied makes the letter a step from
    reviewed back to applied, which version 3 has no transition for."""
    before = {i: (golden.get(i), golden.history(i), golden.spans(i)) for i in (3, 4)}
    done = golden.migrate_cases("medical_transfer", 1, 3, ["letter_sent=applied"], by="ops-li",
                                on=ON)
    refused = {m.case_id: m.reason for m in done if m.outcome == "refused"}
    assert set(refused) == {3, 4}
    assert refused[3] == ("version 3 could not have produced its step send_letter on 2025-10-10 "
                          "(reviewed → letter_sent): it has no transition from 'reviewed' to "
                          "'applied'")
    assert {i: (golden.get(i), golden.history(i), golden.spans(i)) for i in (3, 4)} == before


def test_a_dry_run_says_what_would_happen_per_case_and_changes_nothing(golden):
    """Issue 20: "the dry run prints what would happen per case"."""
    before = snapshot(golden)
    done = golden.migrate_cases("medical_transfer", 1, 3, LETTER, by="ops-li", dry_run=True,
                                on=ON)
    assert snapshot(golden) == before
    assert [m.to_dict() for m in done][3] == {
        "case_id": 4, "state": "funds_moved", "new_state": "funds_moved",
        "outcome": "would_migrate", "reason": None,
        "spans_recomputed": ["destination_continuation"], "spans_ended": [],
        "spans_started": []}


def test_a_bad_mapping_is_refused_before_any_case_changes(golden):
    """A mapping to an unknown state, a state mapped twice, a running state mapped to a final
    one (a migration never ends a case), an unknown version: refused, nothing written."""
    before = snapshot(golden)
    for mapping, to, message in [
            (["letter_sent=sent"], 3, "'sent' is not a state of medical_transfer version 3"),
            (["letter_sent=reviewed", "letter_sent=applied"], 3, "mapped twice"),
            (["letter_sent=continued"], 3, "a migration never ends a case"),
            (["letter_sent"], 3, "a state mapping is OLD=NEW"),
            (LETTER, 9, "no definition medical_transfer version 9"),
            (LETTER, 1, "the same version")]:
        with pytest.raises(InvalidInput, match=message):
            golden.migrate_cases("medical_transfer", 1, to, mapping, by="ops-li", on=ON)
    assert snapshot(golden) == before


def test_a_migrated_case_runs_on_under_the_new_version(golden):
    """After the move, case 4 takes version 3's step: the transfer-in with the months the
    person has at the destination, which issues the completion notice."""
    golden.migrate_cases("medical_transfer", 1, 3, LETTER, by="ops-li", on=ON)
    case = golden.fire(4, "continue_relationship", actor=DEST_CLERK, on=ON,
                       months_at_destination=6)
    assert (case.state, case.definition_version) == ("continued", 3)
    assert [p.kind for p in golden.papers(4)] == ["completion_notice"]


def test_cases_migrate_command_prints_each_case_and_refuses_bad_input_in_one_line(golden,
                                                                                  tmp_path):
    """`sstransfer cases migrate DEFINITION --from V --to W --map OLD=NEW ... [--dry-run]`
    (and `--json`); a bad mapping is one line of error, no traceback, nothing written."""
    env = {"SSTRANSFER_DATABASE_URL": golden.url, "SSTRANSFER_DEFINITIONS": str(SHIPPED),
           "COLUMNS": "200"}
    before = snapshot(golden)
    dry = call_cli("cases", "migrate", "medical_transfer", "--from", "1", "--to", "3",
                   "--dry-run", "--json", env=env, cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert [(m["case_id"], m["outcome"]) for m in json.loads(dry.stdout)] == [
        (1, "would_migrate"), (2, "would_migrate"), (3, "refused"), (4, "refused")]
    bad = call_cli("cases", "migrate", "medical_transfer", "--from", "1", "--to", "3",
                   "--map", "letter_sent=sent", env=env, cwd=tmp_path)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert "'sent' is not a state of medical_transfer version 3" in bad.stderr
    assert snapshot(golden) == before
    done = call_cli("cases", "migrate", "medical_transfer", "--from", "1", "--to", "3",
                    "--map", "letter_sent=reviewed", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "4 case(s) moved, 0 refused" in done.stdout
    assert {c.definition_version for c in golden.cases()} == {3}
