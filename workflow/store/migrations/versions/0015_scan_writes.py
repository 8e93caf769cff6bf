"""The daily scan at national scale (issue 22): fewer indexes to write, a day's advisories.

- ``ix_alert_level`` is dropped: a level has four values, no query is served by it, and the
  scan wrote each new alert through it.
- ``ix_case_pension_continued_at`` (updated_at; continued pension cases only): the scan's
  different-place advisory reads the cases recorded since the last scan started (a step
  dated back), beside those dated after its as-of date (``ix_case_pension_continued``),
  instead of a month of cases every day.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

_CONTINUED = sa.text("insurance = 'pension' AND state = 'continued'")


def upgrade() -> None:
    op.drop_index('ix_alert_level', 'alert')
    op.create_index('ix_case_pension_continued_at', 'transfer_case', ['updated_at'],
                    sqlite_where=_CONTINUED, postgresql_where=_CONTINUED)


def downgrade() -> None:
    op.drop_index('ix_case_pension_continued_at', 'transfer_case')
    op.create_index('ix_alert_level', 'alert', ['level'])
