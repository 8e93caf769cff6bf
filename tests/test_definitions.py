"""Workflow definitions are validated data with versions that cases keep running on."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import DEST_CLERK, open_case

from workflow import DefinitionChanged, DefinitionError, DefinitionSet, Engine, InvalidTransition
from workflow.core.definitions import DefinitionMachine
from workflow.loading import shipped_definitions_dir

ROOT = Path(__file__).resolve().parent.parent


def test_the_shipped_definitions_load_with_their_triggers():
    """Pension and medical version 1 follow the contact-letter process of the seeds (the
    card application of seed 004 is a service after them)."""
    ds = DefinitionSet()
    assert ds.names() == ["card_application", "medical_transfer", "pension_transfer"]
    assert sorted(ds.by_key) == [("card_application", 1), ("medical_transfer", 1),
                                 ("medical_transfer", 2), ("pension_transfer", 1)]
    for d in (ds.by_key["pension_transfer", 1], ds.by_key["medical_transfer", 1]):
        assert set(d.triggers) == {"review", "reject", "request_documents", "resubmit",
                                   "send_letter", "move_funds", "continue_relationship",
                                   "withdraw"}
        assert d.final_states == {"continued", "rejected", "withdrawn"}
        agency = [s for s in d.spans if s.owner != "person"]
        assert [s.name for s in agency] == ["destination_review", "origin_transfer",
                                            "destination_continuation"]
        assert all(s.limit_working_days == 15 for s in agency)
    [premium] = [s for s in ds.latest("medical_transfer").spans if s.owner == "person"]
    assert (premium.name, premium.limit_months, premium.applicants) == ("premium_payment", 3, ("self",))


def test_the_machine_is_built_once_per_definition_version(engine, monkeypatch):
    """The machine is built once per definition version, with the definition: opening,
    moving and refusing cases builds none, and every case of a version is decided by it."""
    built = []
    of = DefinitionMachine.of.__func__
    monkeypatch.setattr(DefinitionMachine, "of",
                        classmethod(lambda cls, model: built.append(model.name) or of(cls, model)))
    assert len(list(DefinitionSet())) == len(built) == 4
    built.clear()
    d = engine.definition("pension_transfer")
    machine = d.machine
    for _ in range(2):
        case = open_case(engine)
        engine.fire(case.id, "review", actor=DEST_CLERK, on=dt.date(2025, 10, 9))
        with pytest.raises(InvalidTransition):
            engine.fire(case.id, "review", actor=DEST_CLERK, on=dt.date(2025, 10, 9))
    assert built == []
    assert engine.definition("pension_transfer").machine is machine


def test_the_machine_has_only_the_definitions_triggers():
    """A definition's machine has one event per trigger of the file, in its order, and no
    unguarded ``to_<state>`` shortcuts (``auto_transitions=False``)."""
    for d in DefinitionSet():
        assert list(d.machine.events) == list(dict.fromkeys(t.trigger for t in d.model.transitions))
        assert d.triggers == tuple(d.machine.events)


def test_the_mermaid_diagram_comes_from_transitions_and_names_every_state_and_trigger():
    """The Mermaid diagram comes from transitions (its Mermaid engine: no graphviz) and names
    every state, every transition with its trigger, the initial state and the final ones."""
    d = DefinitionSet().latest("pension_transfer")
    assert d.machine.graph_cls.__module__ == "transitions.extensions.diagrams_mermaid"
    diagram = d.mermaid()
    assert diagram.startswith("---\ntitle: pension_transfer version 1\n---\nstateDiagram-v2\n")
    lines = {line.strip() for line in diagram.splitlines()}
    assert {f'state "{s}" as {s}' for s in d.states} <= lines
    assert {f"{s} --> {t.dest}: {t.trigger}" for t in d.model.transitions for s in t.source} <= lines
    assert "[*] --> applied" in lines
    assert {f"{s} --> [*]" for s in ("continued", "rejected", "withdrawn")} <= lines
    assert diagram.count(": withdraw") == 5


def edit(folder: Path, old: str, new: str, name: str = "pension_transfer.yaml") -> Path:
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def line_of(path: Path, needle: str) -> int:
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return n
    raise AssertionError(needle)


@pytest.mark.parametrize("old, new, words", [
    ("    dest: reviewed\n", "    dest: reveiwed\n", "unknown state 'reveiwed'"),
    ("    roles: [origin_clerk]\n", "    roles: [bank_clerk]\n", "unknown role 'bank_clerk'"),
    ("    requires: [information_form]\n", "    requires: [bank_slip]\n",
     "unknown document kind 'bank_slip'"),
    ("    guards: [application_complete]\n", "    guards: [looks_fine]\n",
     "unknown guard 'looks_fine'"),
    ("    inputs: [amount]\n", "    inputs: [amont]\n", "unknown input 'amont'"),
    ("    ends_on: [move_funds]\n", "    ends_on: [move_fund]\n", "unknown span event 'move_fund'"),
    ("    limit_working_days: 15\n", "    limit_working_days: fifteen\n", "limit_working_days"),
    ("    source: [letter_sent]\n", "    source: [letter_sent]\n    colour: red\n",
     "unknown key"),
    ("    source: [funds_moved]\n", "    source: [continued]\n",
     "leaves final state 'continued'"),
])
def test_an_invalid_definition_is_refused_with_file_line_and_reason(definitions_dir, old, new,
                                                                    words):
    """A definition naming an unknown state, role, document kind, guard, input or span event, with
    a limit that is no number, an unknown key or a transition out of a final state is refused
    with its file, the line of the mistake and the reason."""
    path = edit(definitions_dir, old, new)
    marker = new.strip().splitlines()[-1]
    with pytest.raises(DefinitionError) as info:
        DefinitionSet(definitions_dir)
    err = info.value
    assert err.path.endswith("pension_transfer.yaml")
    assert words in str(err)
    assert err.line == line_of(path, marker)
    assert f"pension_transfer.yaml, line {err.line}:" in str(err)


def test_an_unreachable_state_is_refused(definitions_dir):
    """A state no transition leads to refuses the definition, naming the state."""
    edit(definitions_dir, "states: [applied,", "states: [archived, applied,")
    with pytest.raises(DefinitionError, match="'archived' cannot be reached"):
        DefinitionSet(definitions_dir)


def test_a_trap_state_is_refused(definitions_dir):
    """A state from which no final state can be reached refuses the definition, naming the state."""
    edit(definitions_dir, "  - trigger: withdraw\n    source: [applied, awaiting_documents,",
         "  - trigger: withdraw\n    source: [applied,")
    edit(definitions_dir, "  - trigger: resubmit\n    source: [awaiting_documents]\n    dest: applied",
         "  - trigger: resubmit\n    source: [awaiting_documents]\n    dest: awaiting_documents")
    with pytest.raises(DefinitionError, match="no final state can be reached from 'awaiting_documents'"):
        DefinitionSet(definitions_dir)


def test_a_definition_that_is_not_yaml_is_refused_with_its_line(definitions_dir):
    """A definition file that is not valid YAML is refused naming the file."""
    path = edit(definitions_dir, "version: 1\n", "version: [1\n")
    with pytest.raises(DefinitionError, match="not valid YAML") as info:
        DefinitionSet(definitions_dir)
    assert info.value.path == str(path)


def test_yaml_tags_that_would_run_code_are_refused(definitions_dir):
    """A YAML tag that would run code (!!python/object/apply) is refused as invalid YAML, never
    executed: definitions are read with the safe loader."""
    edit(definitions_dir, "title: ", "title: !!python/object/apply:os.system ['true']\nx: ")
    with pytest.raises(DefinitionError, match="not valid YAML"):
        DefinitionSet(definitions_dir)


def test_two_files_with_the_same_name_and_version_are_refused(definitions_dir):
    """Two files defining the same name and version are refused, naming where the other one is."""
    text = (definitions_dir / "pension_transfer.yaml").read_text(encoding="utf-8")
    (definitions_dir / "pension_copy.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(DefinitionError, match="also in"):
        DefinitionSet(definitions_dir)


# --- versions -------------------------------------------------------------------------------

def test_editing_a_version_that_cases_run_on_is_refused(definitions_dir, db_url):
    """Changing a limit in a version that a stored case runs on refuses to start the engine, with
    DefinitionChanged saying to add a version 2 instead."""
    with Engine(db_url, definitions=definitions_dir) as engine:
        open_case(engine)
    edit(definitions_dir, "limit_working_days: 15", "limit_working_days: 20")
    with pytest.raises(DefinitionChanged, match="version: 2"):
        Engine(db_url, definitions=definitions_dir)


def test_editing_a_version_no_case_runs_on_is_accepted(definitions_dir, db_url):
    """A version no case runs on yet may still be edited: the engine starts and new cases get the
    edited limit."""
    Engine(db_url, definitions=definitions_dir).close()
    edit(definitions_dir, "limit_working_days: 15", "limit_working_days: 20")
    with Engine(db_url, definitions=definitions_dir) as engine:
        case = open_case(engine)
        assert engine.spans(case.id)[0].limit_working_days == 20


def test_comments_and_layout_are_not_a_change(definitions_dir, db_url):
    """A comment added and spaces changed in a version that cases run on leave its content
    hash as it was: the engine opens on the edited folder (no DefinitionChanged) and the
    case runs on."""
    with Engine(db_url, definitions=definitions_dir) as engine:
        case = open_case(engine)
        before = engine.definition("pension_transfer").content_hash
    edit(definitions_dir, "name: pension_transfer\n", "# reviewed 2026-11\nname:   pension_transfer\n")
    with Engine(db_url, definitions=definitions_dir) as engine:
        assert engine.definition("pension_transfer").content_hash == before
        assert engine.fire(case.id, "review", actor=DEST_CLERK,
                           on=dt.date(2025, 10, 9)).state == "reviewed"


def test_a_case_keeps_running_on_its_version_when_a_newer_one_is_added(definitions_dir, db_url):
    """Once version 2 is added, new cases open on it (10 working days) while a case opened on
    version 1 keeps running on version 1 and its limits (15)."""
    with Engine(db_url, definitions=definitions_dir) as engine:
        old = open_case(engine)
    v2 = (definitions_dir / "pension_transfer.yaml").read_text(encoding="utf-8")
    v2 = v2.replace("version: 1", "version: 2").replace("limit_working_days: 15",
                                                        "limit_working_days: 10")
    (definitions_dir / "pension_transfer.v2.yaml").write_text(v2, encoding="utf-8")
    with Engine(db_url, definitions=definitions_dir) as engine:
        new = open_case(engine)
        assert (engine.get(old.id).definition_version, new.definition_version) == (1, 2)
        moved = engine.fire(old.id, "review", actor=DEST_CLERK, on=dt.date(2025, 10, 9))
        moved = engine.fire(old.id, "send_letter", actor=DEST_CLERK, on=dt.date(2025, 10, 10))
        assert moved.definition_version == 1
        assert engine.spans(old.id)[-1].limit_working_days == 15
        assert engine.spans(new.id)[0].limit_working_days == 10


def test_a_case_runs_on_its_stored_version_after_the_file_is_removed(definitions_dir, db_url):
    """A case keeps running on its version from the definition stored with it, after the file of
    that version has left the definitions folder."""
    with Engine(db_url, definitions=definitions_dir) as engine:
        old = open_case(engine)
    path = definitions_dir / "pension_transfer.yaml"
    v2 = path.read_text(encoding="utf-8").replace("version: 1", "version: 2")
    path.write_text(v2, encoding="utf-8")  # version 1 is gone from the folder
    with Engine(db_url, definitions=definitions_dir) as engine:
        case = engine.fire(old.id, "review", actor=DEST_CLERK, on=dt.date(2025, 10, 9))
        assert (case.state, case.definition_version) == ("reviewed", 1)


def test_a_host_application_may_use_its_own_definitions_folder(definitions_dir, db_url):
    """An engine given a definitions folder loads that folder, not the shipped definitions."""
    edit(definitions_dir, "title: Transfer of basic old-age", "title: Our own old-age")
    with Engine(db_url, definitions=definitions_dir) as engine:
        assert engine.definition("pension_transfer").model.title.startswith("Our own")
        assert engine.definitions.folder == definitions_dir


def test_the_shipped_definitions_are_inside_the_built_package(tmp_path):
    """An installed package (not only a source checkout) finds its definitions."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path), str(ROOT)], check=True)
    [wheel] = tmp_path.glob("sstransfer-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for name in ("documents.yaml", "pension_transfer.yaml", "medical_transfer.yaml"):
        assert f"workflow/definitions/{name}" in names
    assert shipped_definitions_dir().joinpath("pension_transfer.yaml").is_file()


# --- titles: the words people read ---------------------------------------------------------

def test_every_state_trigger_and_span_of_the_shipped_definitions_has_a_chinese_and_english_title():
    """Reports and pages take these words from the definitions: each shipped version titles
    every state, trigger and span in Chinese and in English (no name is shown bare)."""
    for d in DefinitionSet():
        for kind, names in (("state", d.states), ("trigger", d.triggers),
                            ("span", [s.name for s in d.spans])):
            for name in names:
                zh, en = d.title(kind, name, "zh"), d.title(kind, name, "en")
                assert any("\u4e00" <= c <= "\u9fff" for c in zh), (d.key, kind, name, zh)
                assert en != zh and en.isascii(), (d.key, kind, name, en)
    pension = DefinitionSet().latest("pension_transfer")
    assert [pension.title("state", s) for s in ("reviewed", "letter_sent", "funds_moved",
                                                "continued", "rejected", "withdrawn")] == [
        "已审核", "已发联系函", "已转移基金", "已接续", "不予受理", "已撤回"]
    assert [pension.title("span", s.name) for s in pension.spans] == [
        "转入地审核", "转出地办理转移", "转入地接续"]
    assert pension.title("trigger", "send_letter", "en") == "send the contact letter"
    assert DefinitionSet().latest("medical_transfer").title("trigger", "review") == "受理"
    assert DefinitionSet().catalogue.title("endowment_manual") == "养老保险手册"
    with pytest.raises(ValueError, match="language must be one of zh, en"):
        pension.title("state", "applied", "fr")


def test_a_definition_without_titles_shows_the_names(definitions_dir):
    """Titles are optional in a user's own definition: a state, trigger or span without one is
    shown by its name, in either language."""
    path = definitions_dir / "pension_transfer.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text[:text.index("\ntitles:")] + "\n", encoding="utf-8")
    d = DefinitionSet(definitions_dir).latest("pension_transfer")
    assert d.title("state", "letter_sent", "zh") == d.title("state", "letter_sent", "en") == "letter_sent"
    assert d.title("span", "origin_transfer") == "origin_transfer"


@pytest.mark.parametrize("old, new, words", [
    ("    letter_sent: {zh: 已发联系函", "    letter_snet: {zh: 已发联系函",
     "unknown state (titled) 'letter_snet'"),
    ("    send_letter: {zh: 发出联系函", "    send_leter: {zh: 发出联系函",
     "unknown trigger (titled) 'send_leter'"),
    ("    origin_transfer: {zh: 转出地办理转移", "    origin_transfers: {zh: 转出地办理转移",
     "unknown span (titled) 'origin_transfers'"),
    ("    reviewed: {zh: 已审核, en: reviewed}", "    reviewed: {zh: 已审核}", "en"),
])
def test_a_title_for_a_name_the_definition_lacks_is_refused_with_its_line(definitions_dir, old,
                                                                          new, words):
    """A title for an unknown state, trigger or span is a typo: refused with the file's line
    (so is a title lacking one of its languages)."""
    path = edit(definitions_dir, old, new)
    with pytest.raises(DefinitionError) as info:
        DefinitionSet(definitions_dir)
    assert words in str(info.value)
    assert info.value.line == line_of(path, new.strip())


def test_titles_are_presentation_and_may_change_in_a_version_cases_run_on(definitions_dir,
                                                                          db_url):
    """The content hash leaves titles out: correcting a title of a version that cases run on
    is accepted (no DefinitionChanged), the case keeps running, the new title is shown."""
    with Engine(db_url, definitions=definitions_dir) as engine:
        case = open_case(engine)
        before = engine.definition("pension_transfer").content_hash
    edit(definitions_dir, "letter_sent: {zh: 已发联系函", "letter_sent: {zh: 已发出联系函")
    with Engine(db_url, definitions=definitions_dir) as engine:
        d = engine.definition("pension_transfer")
        assert d.content_hash == before and d.title("state", "letter_sent") == "已发出联系函"
        engine.fire(case.id, "review", actor=DEST_CLERK, on=dt.date(2025, 10, 9))
        assert engine.fire(case.id, "send_letter", actor=DEST_CLERK,
                           on=dt.date(2025, 10, 10)).state == "letter_sent"
