"""Two partial indexes that national scale needs (issue 22, measured by bench/bench_national.py
on PostgreSQL with millions of cases):

- ``ix_span_running_owner``: the running spans of one agency. A clerk's inbox (and its total)
  read every running span of the country and kept their agency's; with 5 % of 300,000 cases
  running that was 59 ms a page, growing with the country.
- ``ix_case_medical_person``: a person's medical cases and their states. The scan's
  different-place advisory asks, for each pension case continued in the last month, whether
  the person has a medical case not yet continued: PostgreSQL hashed every medical case of the
  country for it; with this index it probes the person's own.

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
_MEDICAL = sa.text("insurance = 'medical'")


def upgrade() -> None:
    op.create_index('ix_span_running_owner', 'span', ['owner_agency'],
                    sqlite_where=_RUNNING, postgresql_where=_RUNNING)
    op.create_index('ix_case_medical_person', 'transfer_case', ['person_id', 'state'],
                    sqlite_where=_MEDICAL, postgresql_where=_MEDICAL)


def downgrade() -> None:
    op.drop_index('ix_case_medical_person', 'transfer_case')
    op.drop_index('ix_span_running_owner', 'span')
