"""Alerts have a life (issue 21): an alert is resolved when its span ends, or when its span's
due date moved and the next scan found it stale.

- ``alert.resolved_on``: the business date it was resolved (the day its span ended, or the
  as-of date of the scan that found its due date moved); NULL while the alert is open.
- ``alert.resolution``: why: ``span_ended`` or ``due_date_moved``.
- ``ix_alert_open`` (span_id, open alerts only): a span's open alerts, which a step that ends
  the span resolves and the alerts page and the scan read.

Alerts of spans that had already ended are resolved on the day their span ended.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

_OPEN = sa.text('resolved_on IS NULL')


def upgrade() -> None:
    with op.batch_alter_table('alert') as batch:
        batch.add_column(sa.Column('resolved_on', sa.Date(), nullable=True))
        batch.add_column(sa.Column('resolution', sa.String(), nullable=True))
    op.create_index('ix_alert_open', 'alert', ['span_id'],
                    sqlite_where=_OPEN, postgresql_where=_OPEN)
    op.execute(
        "UPDATE alert SET resolution = 'span_ended', resolved_on = "
        "(SELECT span.ended_on FROM span WHERE span.id = alert.span_id) "
        "WHERE span_id IN (SELECT id FROM span WHERE ended_on IS NOT NULL)")


def downgrade() -> None:
    op.drop_index('ix_alert_open', 'alert')
    with op.batch_alter_table('alert') as batch:
        batch.drop_column('resolution')
        batch.drop_column('resolved_on')
