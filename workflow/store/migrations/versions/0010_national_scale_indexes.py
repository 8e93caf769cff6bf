"""Indexes for national scale (issue 22), each found missing by bench/bench_national.py on
PostgreSQL with millions of cases (figures in BENCHMARKS.md, "Issue 22: national scale"):

- ``ix_span_running_owner``: the running spans of one agency. A clerk's inbox (and its total)
  read every running span of the country and kept their agency's.
- ``ix_case_medical_person``: a person's medical cases and their states. The scan's
  different-place advisory asks, for each pension case continued in the last month, whether
  the person has a medical case not yet continued: PostgreSQL hashed every medical case of the
  country for it; with this index it probes the person's own.
- ``ix_case_pension_continued``: the pension cases continued, by the date of their last step,
  which that advisory reads a month of. PostgreSQL read the whole table for them rather than
  the (insurance, state, last_event_on) index, whose heap reads it expects scattered.
- ``ix_case_state_id`` (state, id) instead of ``ix_case_state`` (state): a filtered case list
  is in id order, so the cases of a state are read in that order and the first page stops
  early; with (state) alone PostgreSQL walked the primary key and filtered (80,000 rows for a
  page of 50 at 3 million cases).
- ``ix_span_ended`` (ended_on, closed spans only) instead of ``ix_span_ended_on``: the scan's
  ``ended_on IS NULL`` matched the full index too, whose running spans PostgreSQL read all of
  (it cannot tell that running spans are due later than closed ones); with this one only
  the partial indexes of running spans by due date answer it, and read only those due.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

_RUNNING = sa.text('ended_on IS NULL')
_CLOSED = sa.text('ended_on IS NOT NULL')
_MEDICAL = sa.text("insurance = 'medical'")
_CONTINUED_PENSION = sa.text("insurance = 'pension' AND state = 'continued'")


def upgrade() -> None:
    op.create_index('ix_span_running_owner', 'span', ['owner_agency'],
                    sqlite_where=_RUNNING, postgresql_where=_RUNNING)
    op.create_index('ix_case_medical_person', 'transfer_case', ['person_id', 'state'],
                    sqlite_where=_MEDICAL, postgresql_where=_MEDICAL)
    op.create_index('ix_case_pension_continued', 'transfer_case', ['last_event_on'],
                    sqlite_where=_CONTINUED_PENSION, postgresql_where=_CONTINUED_PENSION)
    op.create_index('ix_case_state_id', 'transfer_case', ['state', 'id'])
    op.drop_index('ix_case_state', 'transfer_case')
    op.create_index('ix_span_ended', 'span', ['ended_on'],
                    sqlite_where=_CLOSED, postgresql_where=_CLOSED)
    op.drop_index('ix_span_ended_on', 'span')


def downgrade() -> None:
    op.create_index('ix_span_ended_on', 'span', ['ended_on'])
    op.drop_index('ix_span_ended', 'span')
    op.create_index('ix_case_state', 'transfer_case', ['state'])
    op.drop_index('ix_case_state_id', 'transfer_case')
    op.drop_index('ix_case_pension_continued', 'transfer_case')
    op.drop_index('ix_case_medical_person', 'transfer_case')
    op.drop_index('ix_span_running_owner', 'span')
