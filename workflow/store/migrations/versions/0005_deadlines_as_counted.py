"""Deadlines as the law and the agencies count them: committed due dates next to the
statutory ones, how a due date was moved, the calendar fingerprint of each span, and the
medical insurance scheme at each end of a case.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('transfer_case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin_scheme', sa.String(), nullable=True))
        batch_op.add_column(sa.Column('destination_scheme', sa.String(), nullable=True))
    with op.batch_alter_table('span', schema=None) as batch_op:
        batch_op.add_column(sa.Column('committed_limit_working_days', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('committed_due_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('due_note', sa.String(), nullable=True))
        batch_op.add_column(sa.Column('calendar_fingerprint', sa.String(), nullable=True))
        batch_op.create_index('ix_span_running_committed', ['committed_due_on'], unique=False,
                              sqlite_where=sa.text('ended_on IS NULL'),
                              postgresql_where=sa.text('ended_on IS NULL'))
    with op.batch_alter_table('span_change', schema=None) as batch_op:
        batch_op.add_column(sa.Column('old_committed_due_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('new_committed_due_on', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('span_change', schema=None) as batch_op:
        batch_op.drop_column('new_committed_due_on')
        batch_op.drop_column('old_committed_due_on')
    with op.batch_alter_table('span', schema=None) as batch_op:
        batch_op.drop_index('ix_span_running_committed', sqlite_where=sa.text('ended_on IS NULL'),
                            postgresql_where=sa.text('ended_on IS NULL'))
        batch_op.drop_column('calendar_fingerprint')
        batch_op.drop_column('due_note')
        batch_op.drop_column('committed_due_on')
        batch_op.drop_column('committed_limit_working_days')
    with op.batch_alter_table('transfer_case', schema=None) as batch_op:
        batch_op.drop_column('destination_scheme')
        batch_op.drop_column('origin_scheme')
