"""Moving a running case to a new version of its definition: the pure decision.

An agency fixes a definition and its running cases follow (``sstransfer cases migrate``,
:meth:`workflow.Engine.migrate_cases`). For one case, :func:`plan_migration` decides from its
recorded steps and running spans what the move changes, or why it is refused:

* **States.** The case's state, and every state its history passed through, must have a
  mapping: the ``--map OLD=NEW`` pairs, and a state of the same name in both versions maps to
  itself. A state without one refuses the case.
* **History.** The new version must have been able to produce the case's history, states
  mapped: its first state is the new version's initial state, and each recorded step either
  stays in one state (two old states mapped to one new) or is a transition of the new version
  between the mapped states. Otherwise the case is refused. (A case migrated before is judged
  from that migration on: its ``migrated`` row is the start.)
* **Spans** are recomputed under the new version's limits from their original start dates:
  the recorded steps are replayed on the new version's spans (which step starts and ends
  which). A span running on the case that the new version also has running keeps its start
  date and gets the new version's limit and due dates (committed limits included); a running
  span the new version does not have running ends on the day of the migration; a span the new
  version has running that the case has not starts on the date of the recorded step the new
  version starts it on. A due date may be past already: the next scan raises its alert.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..errors import InvalidInput, MigrationRefused
from .definitions import Definition
from .inputs import normalise, shown
from .schema import OPEN_EVENT, SpanSpec

#: The trigger of the history row a migration writes.
MIGRATED = "migrated"


@dataclass(frozen=True, slots=True)
class RecordedStep:
    """One row of a case's history as a migration reads it (``source`` None: the opening)."""

    trigger: str
    source: str | None
    dest: str
    on: dt.date


@dataclass(frozen=True, slots=True)
class RunningSpan:
    """A span running on the case (its row id, name and start)."""

    id: int
    name: str
    started_on: dt.date


@dataclass(frozen=True, slots=True)
class MigrationPlan:
    """What moving one case changes: its new state, the spans recomputed (row id, the new
    version's span, the original start), those ended and those started (span, start)."""

    state: str
    recomputed: tuple[tuple[int, SpanSpec, dt.date], ...]
    ended: tuple[str, ...]
    started: tuple[tuple[SpanSpec, dt.date], ...]


@dataclass(frozen=True, slots=True)
class CaseMigration:
    """What happened to one running case in a migration (or would, in a dry run): its
    ``outcome`` is ``migrated``, ``would_migrate`` or ``refused`` (with the ``reason``); the
    spans recomputed, ended and started name the new version's spans."""

    case_id: int
    state: str
    new_state: str | None
    outcome: str
    reason: str | None = None
    recomputed: tuple[str, ...] = ()
    ended: tuple[str, ...] = ()
    started: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {"case_id": self.case_id, "state": self.state, "new_state": self.new_state,
                "outcome": self.outcome, "reason": self.reason,
                "spans_recomputed": list(self.recomputed), "spans_ended": list(self.ended),
                "spans_started": list(self.started)}


def check_mapping(old: Definition, new: Definition, pairs: Sequence[str] | Mapping[str, str]
                  ) -> dict[str, str]:
    """The full state mapping from ``old`` to ``new``: ``pairs`` (``OLD=NEW`` strings or a
    mapping), and each state of the same name in both versions to itself. Refuses an unknown
    state, a state mapped twice, and a state mapped to a final state of ``new`` (a migration
    moves a running case; it never ends one)."""
    if old.name != new.name:
        raise InvalidInput(f"a case moves to another version of its own definition, not from "
                           f"{old.name} to {new.name}")
    if old.version == new.version:
        raise InvalidInput(f"--from and --to are the same version ({old.version})")
    given: dict[str, str] = {}
    items = pairs.items() if isinstance(pairs, Mapping) else [_pair(p) for p in pairs]
    for source, dest in items:
        source, dest = normalise(source), normalise(dest)
        if source not in old.states:
            raise InvalidInput(f"{shown(source)} is not a state of {old.name} version "
                               f"{old.version}; states: {', '.join(old.states)}")
        if dest not in new.states:
            raise InvalidInput(f"{shown(dest)} is not a state of {new.name} version "
                               f"{new.version}; states: {', '.join(new.states)}")
        if source in given:
            raise InvalidInput(f"state {source!r} is mapped twice")
        given[source] = dest
    mapping = {s: s for s in old.states if s in new.states} | given
    for source, dest in mapping.items():
        if dest in new.final_states and source not in old.final_states:
            raise InvalidInput(f"state {source!r} is mapped to {dest!r}, a final state of "
                               f"version {new.version}: a migration never ends a case")
    return mapping


def _pair(text: object) -> tuple[str, str]:
    if not isinstance(text, str) or text.count("=") != 1:
        raise InvalidInput(f"a state mapping is OLD=NEW, not {shown(text)}")
    source, dest = text.split("=")
    return source.strip(), dest.strip()


def plan_migration(old: Definition, new: Definition, mapping: Mapping[str, str], state: str,
                   applicant: str, history: Sequence[RecordedStep],
                   running: Sequence[RunningSpan]) -> MigrationPlan:
    """What moving one running case from ``old`` to ``new`` changes (see the module's rules);
    raises :class:`~workflow.errors.MigrationRefused` saying why it cannot move."""
    history = _check_history(new, mapping, state, history)
    replayed = _replay(new, applicant, history)
    recomputed, ended = [], []
    for span in running:
        spec = new.span(span.name)
        if spec is not None and span.name in replayed:
            recomputed.append((span.id, spec, span.started_on))
        else:
            ended.append(span.name)
    have = {s.name for s in running}
    started = tuple((spec, on) for name, (spec, on) in replayed.items() if name not in have)
    return MigrationPlan(mapping[state], tuple(recomputed), tuple(dict.fromkeys(ended)), started)


def _check_history(new: Definition, mapping: Mapping[str, str], state: str,
                   history: Sequence[RecordedStep]) -> Sequence[RecordedStep]:
    """The history ``new`` is judged on (from the last migration on), once ``new`` could
    have produced it, states mapped; else :class:`~workflow.errors.MigrationRefused`."""
    if state not in mapping:
        raise MigrationRefused(f"its state {state!r} has no mapping to version {new.version}")
    for step in history:
        for passed in (step.source, step.dest):
            if passed is not None and passed not in mapping:
                raise MigrationRefused(f"its history passed through {passed!r}, which has no mapping "
                              f"to version {new.version}")
    # A case migrated before starts in its version where that migration put it.
    since = max((i for i, s in enumerate(history) if s.trigger == MIGRATED), default=0)
    history = history[since:]
    if not history or (since == 0 and mapping[history[0].dest] != new.initial):
        raise MigrationRefused(f"version {new.version} starts a case in {new.initial!r}, not "
                               f"{mapping[history[0].dest] if history else 'nothing'!r}")
    moves = {(s, t.dest) for t in new.model.transitions for s in t.source}
    for step in history[1:]:
        if step.source is None:
            continue
        source, dest = mapping[step.source], mapping[step.dest]
        if source != dest and (source, dest) not in moves:
            raise MigrationRefused(f"version {new.version} could not have produced its step "
                          f"{step.trigger} on {step.on} ({step.source} → {step.dest}): it has "
                          f"no transition from {source!r} to {dest!r}")
    return history


def _replay(new: Definition, applicant: str,
            history: Sequence[RecordedStep]) -> dict[str, tuple[SpanSpec, dt.date]]:
    """The spans ``new`` would have running after the recorded steps, with the date of the
    step that started each."""
    running: dict[str, tuple[SpanSpec, dt.date]] = {}
    for i, step in enumerate(history):
        event = OPEN_EVENT if i == 0 and step.trigger != MIGRATED else step.trigger
        for name in new.spans_ended_by(event):
            running.pop(name, None)
        for spec in new.spans_started_by(event, applicant):
            running[spec.name] = (spec, step.on)
    return running


__all__ = ["MIGRATED", "CaseMigration", "MigrationPlan", "RecordedStep", "RunningSpan",
           "check_mapping", "plan_migration"]
