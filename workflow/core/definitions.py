"""Workflow definitions: YAML files read into immutable, validated objects.

A definition is checked twice, as python-statemachine does: first its schema (unknown
keys, wrong types: :mod:`workflow.core.schema`), then its graph (every state reachable, a
final state reachable from every state, every named document, role, guard, input and span
event known: :mod:`workflow.core.graph`). A failure names the file, the line and what is
wrong. What passes is a :class:`Definition`, with the one `transitions` machine of its
version (:class:`DefinitionMachine`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from transitions import Transition
from transitions.extensions.diagrams import GraphMachine

from .catalogue import DocumentCatalogue
from .graph import check_graph
from .schema import (
    ADDED_KEYS,
    ADDED_SPAN_KEYS,
    ADDED_TRANSITION_KEYS,
    CHECKS,
    LANGUAGES,
    PRESENTATION_KEYS,
    PRESENTATION_TRANSITION_KEYS,
    TITLED,
    DefinitionModel,
    RequiredCase,
    SpanSpec,
    TransitionSpec,
)
from .yamlfile import YamlFile


@dataclass(frozen=True, eq=False)
class Definition:
    """One version of one workflow, validated and immutable. Cases refer to it by name and version."""

    model: DefinitionModel
    source: str  # the file's text, kept so cases can run on it after the file is gone
    path: str
    catalogue: DocumentCatalogue
    content_hash: str = field(init=False)
    #: The one `transitions` machine of this version, built with it and shared by every case
    #: that runs on it (and every thread): cases are never added to it as models.
    machine: DefinitionMachine = field(init=False, repr=False)

    def __post_init__(self) -> None:
        data = self.model.model_dump(mode="json", exclude=set(PRESENTATION_KEYS))
        for key, default in ADDED_KEYS.items():
            if data[key] == default:
                del data[key]
        for transition in data["transitions"]:
            for key in PRESENTATION_TRANSITION_KEYS:
                del transition[key]
            for key, default in ADDED_TRANSITION_KEYS.items():
                if transition[key] == default:
                    del transition[key]
        for span in data["spans"]:
            for key, default in ADDED_SPAN_KEYS.items():
                if span[key] == default:
                    del span[key]
        canonical = json.dumps(data, sort_keys=True)
        object.__setattr__(self, "content_hash", hashlib.sha256(canonical.encode()).hexdigest())
        object.__setattr__(self, "machine", DefinitionMachine.of(self.model))

    # --- the neutral model, under domain names -------------------------------------------
    @property
    def name(self) -> str:
        return self.model.name

    @property
    def version(self) -> int:
        return self.model.version

    @property
    def key(self) -> tuple[str, int]:
        return self.model.name, self.model.version

    @property
    def insurance(self) -> str:
        return self.model.insurance

    @property
    def initial(self) -> str:
        return self.model.initial

    @property
    def states(self) -> tuple[str, ...]:
        return self.model.states

    @cached_property
    def final_states(self) -> frozenset[str]:
        return frozenset(self.model.final_states)

    @property
    def spans(self) -> tuple[SpanSpec, ...]:
        return self.model.spans

    @property
    def schemes(self) -> tuple[str, ...]:
        return self.model.schemes

    @property
    def application_at(self) -> tuple[str, ...]:
        return self.model.application_at

    @property
    def kind(self) -> str:
        """``transfer`` (two agencies) or ``service`` (one agency, the destination)."""
        return self.model.kind

    @property
    def requires_case(self) -> RequiredCase | None:
        """The other case a case of this definition needs to be opened (and is linked to)."""
        return self.model.requires_case

    @property
    def receipt_policy(self) -> str:
        return self.model.receipt_on_non_working_day

    @property
    def exchange(self) -> str:
        """``platform`` (received when sent) or ``paper`` (each receipt a step of its own)."""
        return self.model.exchange

    def title(self, kind: str, name: str, lang: str = LANGUAGES[0]) -> str:
        """What people read for a ``state``, ``trigger`` or ``span`` of this version, in
        ``lang`` (``zh`` or ``en``); the name itself where the file gives it no title."""
        if kind not in TITLED:
            raise ValueError(f"titles are given to {', '.join(TITLED)}, not {kind!r}")
        if lang not in LANGUAGES:
            raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {lang!r}")
        title = getattr(self.model.titles, TITLED[kind]).get(name)
        return name if title is None else getattr(title, lang)

    def span(self, name: str) -> SpanSpec | None:
        return next((s for s in self.spans if s.name == name), None)

    @cached_property
    def transitions(self) -> dict[tuple[str, str], TransitionSpec]:
        """(trigger, source state) -> transition: what a step requires, takes and produces."""
        return {(t.trigger, s): t for t in self.model.transitions for s in t.source}

    @cached_property
    def triggers(self) -> tuple[str, ...]:
        """Every trigger of this version, in the order of the definition file."""
        return tuple(self.machine.events)

    def inputs_of(self, trigger: str) -> tuple[str, ...]:
        """The inputs ``trigger`` takes (from any state), in the order of the file."""
        return tuple(dict.fromkeys(
            name for t in self.model.transitions if t.trigger == trigger for name in t.inputs))

    def destructive(self, trigger: str) -> bool:
        """Whether ``trigger`` ends the transfer undone (a refusal, a withdrawal, a reversal):
        the pages show it apart and ask for a confirmation."""
        return any(t.destructive for t in self.model.transitions if t.trigger == trigger)

    def allowed_triggers(self, state: str) -> tuple[str, ...]:
        """The triggers the machine has a transition for from ``state``."""
        return tuple(self.machine.get_triggers(state))

    def application_documents(self, applicant: str, channel: str) -> tuple[str, ...]:
        docs = self.model.application_documents
        return tuple(dict.fromkeys(
            # typeshed's dict.get takes only the key type (Literal here), though any str may be looked up
            (*docs.always, *docs.channel.get(channel, ()), *docs.applicant.get(applicant, ()))  # type: ignore[call-overload]
        ))

    @cached_property
    def _spans_of_steps(self) -> dict[tuple[Any, ...], tuple[Any, ...]]:
        """:meth:`spans_started_by` and :meth:`spans_ended_by` as found so far (a step
        asks them on every call; the definition never changes)."""
        return {}

    def spans_started_by(self, event: str, applicant: str,
                         receiving_employer: bool | None = None) -> tuple[SpanSpec, ...]:
        """The spans ``event`` starts on a case of that applicant kind; a span of the cases
        without a receiving employer only where that was recorded (False; None: not known)."""
        key = ("started", event, applicant, receiving_employer)
        found = self._spans_of_steps.get(key)
        if found is None:
            found = self._spans_of_steps[key] = tuple(
                s for s in self.spans if event in s.starts_on
                and (not s.applicants or applicant in s.applicants)
                and (not s.no_receiving_employer or receiving_employer is False))
        return found

    def spans_ended_by(self, event: str) -> tuple[str, ...]:
        key = ("ended", event)
        found = self._spans_of_steps.get(key)
        if found is None:
            found = self._spans_of_steps[key] = tuple(
                s.name for s in self.spans if event in s.ends_on)
        return found

    def mermaid(self) -> str:
        """A Mermaid state diagram of this version, drawn by the machine (``transitions``'
        Mermaid engine: no graphviz needed). Its flat diagrams leave out where a case ends, so
        each final state of the machine gets its ``--> [*]`` line after them."""
        machine = self.machine
        # transitions' GraphProtocol stub lists draw() only; the Mermaid graph has ``source``.
        diagram = machine.graph_cls(machine).get_graph().source  # type: ignore[attr-defined]
        ends = [f"  {s} --> [*]" for s in machine.states if machine.get_state(s).final]
        return "\n".join([diagram, *ends]) + "\n"


class DefinitionMachine(GraphMachine):
    """The `transitions` machine of one definition version: its states (the final ones marked
    final), a transition per trigger and source, each with its conditions named from
    :data:`~workflow.core.schema.CONDITIONS`, no ``to_<state>`` shortcuts, and a Mermaid diagram.

    It has no models. :func:`workflow.core.rules.decide` checks the transitions of
    ``machine.events[trigger]`` from the case's state against an object made for the call,
    which the machine never holds, so one machine serves every case and thread, read-only.
    Its transitions are plain :class:`transitions.Transition`: the diagram-aware ones, when
    fired, restyle the graph of a registered model, and this machine has none.
    """

    # GraphMachine's stub pins its diagram-aware transition class; any Transition class works.
    transition_cls = Transition  # type: ignore[assignment]

    @classmethod
    def of(cls, model: DefinitionModel) -> DefinitionMachine:
        machine = cls(
            model=None,
            states=[{"name": s, "final": s in model.final_states} for s in model.states],
            initial=model.initial,
            transitions=[
                {"trigger": t.trigger, "source": list(t.source), "dest": t.dest,
                 "conditions": [*(c for c in CHECKS if c != "documents_required" or t.requires),
                                *t.guards]}
                for t in model.transitions
            ],
            auto_transitions=False,
            send_event=True,
            name=f"{model.name}.v{model.version}",
            title=f"title: {model.name} version {model.version}",
            graph_engine="mermaid",
        )
        machine.get_markup_config()  # the diagram's view of it, made now: later reads change nothing
        return machine


def parse_definition(path: Path | str, catalogue: DocumentCatalogue, text: str) -> Definition:
    """Parse one definition's ``text`` (from file ``path``, or stored) and run every check."""
    doc = YamlFile(path, text)
    model = doc.validate(DefinitionModel)
    check_graph(doc, model, catalogue)
    return Definition(model, doc.text, str(path), catalogue)


__all__ = ["Definition", "DefinitionMachine", "parse_definition"]
