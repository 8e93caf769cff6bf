"""The names of the events the outbox carries (no imports: the command line's help reads
them without loading the rest of the core)."""

from __future__ import annotations

#: Every event an outbox carries.
EVENT_NAMES = ("case.opened", "case.rejected", "documents.requested", "case.continued",
               "case.withdrawn", "alert.raised")

__all__ = ["EVENT_NAMES"]
