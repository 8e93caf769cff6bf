"""The second check of a definition, after its schema (:mod:`workflow.core.schema`): the graph
its keys describe, as python-statemachine checks its own.

Every name a definition uses must be one it or the catalogue defines (states, document kinds,
roles, guards, inputs, span events, titled names); every state must be reachable from the
initial state, and a final state reachable from every state (no trap state). Each check is its
own function, run in the order of :func:`check_graph`; the first failure names the file, the
line and what is wrong.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .catalogue import DocumentCatalogue
from .schema import (
    GUARDS,
    INPUTS,
    OPEN_EVENT,
    PAPER_KINDS,
    RECEIPT_STEPS,
    SCHEMES,
    TITLED,
    TRANSITION_ROLES,
    DefinitionModel,
    TransitionSpec,
)
from .yamlfile import YamlFile

#: Each state's successors: the states a transition from it leads to.
Edges = Mapping[str, set[str]]


def check_graph(doc: YamlFile, m: DefinitionModel, catalogue: DocumentCatalogue) -> None:
    """Every check of the graph, in order; raises the first failure as a
    :class:`~workflow.errors.DefinitionError` at its line of ``doc``."""
    _check_states(doc, m)
    _check_schemes(doc, m)
    _check_application_documents(doc, m, catalogue)
    edges = _check_transitions(doc, m, catalogue)
    _check_reachable(doc, m, edges)
    _check_no_trap_state(doc, m, edges)
    _check_spans(doc, m)
    _check_exchange(doc, m)
    _check_titles(doc, m)


def _known(doc: YamlFile, value: str, allowed: Iterable[str], what: str,
           loc: tuple[Any, ...]) -> None:
    """Refuse a name that is not one of ``allowed``, listing those that are."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise doc.fail(f"unknown {what} '{value}'; known: {', '.join(allowed)}", loc)


def _check_states(doc: YamlFile, m: DefinitionModel) -> None:
    """Each state listed once; the initial and final states among them; the initial not final."""
    if len(set(m.states)) != len(m.states):
        raise doc.fail("a state is listed twice", ("states",))
    _known(doc, m.initial, m.states, "state", ("initial",))
    for i, s in enumerate(m.final_states):
        _known(doc, s, m.states, "state", ("final_states", i))
    if m.initial in m.final_states:
        raise doc.fail("the initial state cannot be final", ("initial",))


def _check_schemes(doc: YamlFile, m: DefinitionModel) -> None:
    """The insurance schemes a definition records are known ones."""
    for i, scheme in enumerate(m.schemes):
        _known(doc, scheme, SCHEMES, "scheme", ("schemes", i))


def _check_application_documents(doc: YamlFile, m: DefinitionModel,
                                 catalogue: DocumentCatalogue) -> None:
    """Every application document, always or by channel or applicant, is in the catalogue."""
    docs = m.application_documents
    groups = [(("always",), docs.always),
              *[(("channel", k), v) for k, v in docs.channel.items()],
              *[(("applicant", k), v) for k, v in docs.applicant.items()]]
    for where, kinds in groups:
        for i, kind in enumerate(kinds):
            _known(doc, kind, catalogue.kinds, "document kind", ("application_documents", *where, i))


def _check_transitions(doc: YamlFile, m: DefinitionModel, catalogue: DocumentCatalogue) -> Edges:
    """Each transition's states, and the names it uses; returns the graph they make."""
    seen: set[tuple[str, str]] = set()
    edges: dict[str, set[str]] = {s: set() for s in m.states}
    for ti, t in enumerate(m.transitions):
        loc = ("transitions", ti)
        _known(doc, t.dest, m.states, "state", (*loc, "dest"))
        for si, s in enumerate(t.source):
            _check_source(doc, m, t, s, seen, (*loc, "source", si))
            seen.add((t.trigger, s))
            edges[s].add(t.dest)
        _check_transition_names(doc, t, catalogue, loc)
    return edges


def _check_source(doc: YamlFile, m: DefinitionModel, t: TransitionSpec, source: str,
                  seen: set[tuple[str, str]], loc: tuple[Any, ...]) -> None:
    """A source is a state that is not final, and a trigger has one transition from it."""
    _known(doc, source, m.states, "state", loc)
    if source in m.final_states:
        raise doc.fail(f"'{t.trigger}' leaves final state '{source}'", loc)
    if (t.trigger, source) in seen:
        raise doc.fail(f"'{t.trigger}' from '{source}' is defined twice", loc)


def _check_transition_names(doc: YamlFile, t: TransitionSpec, catalogue: DocumentCatalogue,
                            loc: tuple[Any, ...]) -> None:
    """A transition's roles, guards, inputs and documents are known names."""
    for field_name, allowed, what in [("roles", TRANSITION_ROLES, "role"),
                                      ("guards", GUARDS, "guard"),
                                      ("inputs", INPUTS, "input"),
                                      ("requires", catalogue.kinds, "document kind"),
                                      ("produces", catalogue.kinds, "document kind")]:
        for i, value in enumerate(getattr(t, field_name)):
            _known(doc, value, allowed, what, (*loc, field_name, i))
    for i, paper in enumerate(t.papers):
        needed = PAPER_KINDS[paper]
        if needed is not None and needed not in t.inputs:
            raise doc.fail(f"'{t.trigger}' issues a {paper} but takes no {needed} to fill it",
                           (*loc, "papers", i))


def _closure(start: Iterable[str], edges: Edges) -> set[str]:
    """The states reached from ``start`` along ``edges`` (``start`` included)."""
    found = set(start)
    todo = list(found)
    while todo:
        for nxt in edges[todo.pop()] - found:
            found.add(nxt)
            todo.append(nxt)
    return found


def _check_reachable(doc: YamlFile, m: DefinitionModel, edges: Edges) -> None:
    """Every state can be reached from the initial state."""
    reachable = _closure((m.initial,), edges)
    for s in m.states:
        if s not in reachable:
            raise doc.fail(f"state '{s}' cannot be reached from '{m.initial}'", ("states",))


def _check_no_trap_state(doc: YamlFile, m: DefinitionModel, edges: Edges) -> None:
    """A final state can be reached from every state."""
    reverse: dict[str, set[str]] = {s: set() for s in m.states}
    for source, dests in edges.items():
        for dest in dests:
            reverse[dest].add(source)
    can_finish = _closure(m.final_states, reverse)
    for s in m.states:
        if s not in can_finish:
            raise doc.fail(f"no final state can be reached from '{s}' (a trap state)", ("states",))


def _events(m: DefinitionModel) -> tuple[str, ...]:
    """What a span may start or end on: opening the case, then each trigger once, in order."""
    return (OPEN_EVENT, *dict.fromkeys(t.trigger for t in m.transitions))


def _check_spans(doc: YamlFile, m: DefinitionModel) -> None:
    """Each span is defined once, and starts and ends on events of the definition."""
    events = _events(m)
    names: set[str] = set()
    for si, span in enumerate(m.spans):
        if span.name in names:
            raise doc.fail(f"span '{span.name}' is defined twice", ("spans", si, "name"))
        names.add(span.name)
        for key in ("starts_on", "ends_on"):
            for i, event in enumerate(getattr(span, key)):
                _known(doc, event, events, "span event", ("spans", si, key, i))


def _check_exchange(doc: YamlFile, m: DefinitionModel) -> None:
    """A paper exchange records each receipt: every sending step (``send_letter``,
    ``move_funds``) has its receipt step (``receive_letter``, ``receive_funds``) and a transit
    span from the one to the other; through the platform a paper is received when sent, so a
    definition that declares no paper exchange has no receipt step."""
    triggers = _events(m)[1:]
    for sent, received in RECEIPT_STEPS.items():
        if m.exchange == "platform" and received in triggers:
            raise doc.fail(f"'{received}' records a receipt on paper, but the definition "
                           "declares no paper exchange (exchange: paper)", ("exchange",))
        if m.exchange != "paper" or sent not in triggers:
            continue
        if received not in triggers:
            raise doc.fail(f"a paper exchange records the receipt of what '{sent}' sends: "
                           f"add a '{received}' step", ("exchange",))
        if not any(s.kind == "transit" and sent in s.starts_on and received in s.ends_on
                   for s in m.spans):
            raise doc.fail(f"a paper exchange needs a transit span from '{sent}' to "
                           f"'{received}' (kind: transit), so a missing receipt raises an "
                           "in_transit alert", ("exchange",))


def _check_titles(doc: YamlFile, m: DefinitionModel) -> None:
    """A title for a name the definition does not have is a typo, never a harmless extra."""
    named = {"state": m.states, "trigger": _events(m)[1:], "span": [s.name for s in m.spans],
             "paper": sorted({p for t in m.transitions for p in t.papers})}
    for kind, names in named.items():
        for name in getattr(m.titles, TITLED[kind]):
            _known(doc, name, names, f"{kind} (titled)", ("titles", TITLED[kind], name))


__all__ = ["check_graph"]
