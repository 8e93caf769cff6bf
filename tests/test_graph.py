"""The graph checks of a definition, without a database: every name it uses is known, every
state is reachable, a final state can be reached from every state; a failure names the file,
the line and what is wrong (:mod:`workflow.core.graph`)."""

from __future__ import annotations

import pytest

from workflow import DefinitionError, DefinitionSet
from workflow.core.definitions import parse_definition

CATALOGUE = DefinitionSet().catalogue

SMALL = """\
name: small
version: 1
insurance: pension
title: A small definition
initial: applied
states: [applied, reviewed, done, withdrawn]
final_states: [done, withdrawn]
application_documents:
  always: [application_form]
transitions:
  - trigger: review
    source: [applied]
    dest: reviewed
    roles: [destination_clerk]
  - trigger: finish
    source: [reviewed]
    dest: done
    roles: [destination_clerk]
  - trigger: withdraw
    source: [applied, reviewed]
    dest: withdrawn
    roles: [applicant]
spans:
  - name: destination_review
    owner: destination
    starts_on: [open]
    ends_on: [review]
    limit_working_days: 15
titles:
  states:
    applied: {zh: 已申请, en: applied}
"""

SECOND_REVIEW = """\
  - trigger: review
    source: [applied]
    dest: withdrawn
    roles: [applicant]
spans:
"""
SECOND_SPAN = """\
    limit_working_days: 15
  - name: destination_review
    owner: destination
    starts_on: [review]
    ends_on: [finish]
    limit_working_days: 15
"""


def test_the_small_definition_passes_every_check():
    """The definition the cases below break is itself valid."""
    d = parse_definition("small.yaml", CATALOGUE, SMALL)
    assert (d.name, d.triggers) == ("small", ("review", "finish", "withdraw"))


@pytest.mark.parametrize("edits, problem, line", [
    ([("withdrawn]\nfinal", "withdrawn, done]\nfinal")], "a state is listed twice", "states:"),
    ([("initial: applied", "initial: aplied")],
     "unknown state 'aplied'; known: applied, reviewed, done, withdrawn", "initial:"),
    ([("final_states: [done, withdrawn]", "final_states: [done, withdrawn, archived]")],
     "unknown state 'archived'", "final_states:"),
    ([("final_states: [done, withdrawn]", "final_states: [done, withdrawn, applied]")],
     "the initial state cannot be final", "initial:"),
    ([("title: A small definition\n", "title: A small definition\nschemes: [urban_employe]\n")],
     "unknown scheme 'urban_employe'; known: urban_employee, urban_rural_resident", "schemes:"),
    ([("always: [application_form]", "always: [application_from]")],
     "unknown document kind 'application_from'", "always:"),
    ([("always: [application_form]\n", "always: [application_form]\n  channel:\n"
                                       "    counter: [id_crad]\n")],
     "unknown document kind 'id_crad'", "counter:"),
    ([("    dest: reviewed\n", "    dest: reveiwed\n")], "unknown state 'reveiwed'", "reveiwed"),
    ([("    source: [reviewed]\n", "    source: [reviewd]\n")], "unknown state 'reviewd'",
     "reviewd"),
    ([("    source: [reviewed]\n    dest: done", "    source: [done]\n    dest: done")],
     "'finish' leaves final state 'done'", "source: [done]"),
    ([("spans:\n", SECOND_REVIEW)], "'review' from 'applied' is defined twice",
     ("source: [applied]", 2)),
    ([("    roles: [applicant]", "    roles: [person]")], "unknown role 'person'", "[person]"),
    ([("    roles: [applicant]", "    roles: [applicant]\n    guards: [looks_fine]")],
     "unknown guard 'looks_fine'", "looks_fine"),
    ([("    roles: [applicant]", "    roles: [applicant]\n    inputs: [amont]")],
     "unknown input 'amont'", "amont"),
    ([("    roles: [applicant]", "    roles: [applicant]\n    requires: [bank_slip]")],
     "unknown document kind 'bank_slip'", "requires:"),
    ([("    roles: [applicant]", "    roles: [applicant]\n    produces: [bank_slip]")],
     "unknown document kind 'bank_slip'", "produces:"),
    ([("withdrawn]\nfinal", "withdrawn, archived]\nfinal")],
     "state 'archived' cannot be reached from 'applied'", "states:"),
    ([("    source: [reviewed]\n    dest: done", "    source: [reviewed]\n    dest: reviewed"),
      ("    source: [applied, reviewed]\n    dest: withdrawn", "    source: [applied]\n    dest: withdrawn"),
      ("transitions:\n", "transitions:\n  - trigger: close\n    source: [applied]\n    dest: done\n"
                         "    roles: [destination_clerk]\n")],
     "no final state can be reached from 'reviewed' (a trap state)", "states:"),
    ([("    limit_working_days: 15\n", SECOND_SPAN)],
     "span 'destination_review' is defined twice", ("name: destination_review", 2)),
    ([("    ends_on: [review]", "    ends_on: [reveiw]")],
     "unknown span event 'reveiw'; known: open, review, finish, withdraw", "reveiw"),
    ([("    applied: {zh", "    aplied: {zh")],
     "unknown state (titled) 'aplied'; known: applied, reviewed, done, withdrawn", "aplied:"),
])
def test_a_graph_error_names_the_file_the_line_and_the_problem(edits, problem, line):
    """Each check refuses its own mistake with its own message, at the line of the value
    (or key) at fault; for a name given twice, at the second."""
    text = SMALL
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    with pytest.raises(DefinitionError) as info:
        parse_definition("small.yaml", CATALOGUE, text)
    needle, nth = line if isinstance(line, tuple) else (line, 1)
    expected = [n for n, t in enumerate(text.splitlines(), 1) if needle in t][nth - 1]
    assert (info.value.path, info.value.line) == ("small.yaml", expected)
    assert problem in info.value.problem
