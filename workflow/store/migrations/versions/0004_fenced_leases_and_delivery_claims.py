"""Fenced leases and claimed deliveries: each lease take has a generation that fences the
run's writes, and an alert delivery is claimed (``delivered_at`` still empty) before its
callback is called.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('scheduler_lease', schema=None) as batch_op:
        batch_op.add_column(sa.Column('generation', sa.Integer(), nullable=False,
                                      server_default='0'))
    with op.batch_alter_table('alert_delivery', schema=None) as batch_op:
        batch_op.add_column(sa.Column('generation', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.alter_column('delivered_at', existing_type=sa.DateTime(timezone=True),
                              nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM alert_delivery WHERE delivered_at IS NULL")
    with op.batch_alter_table('alert_delivery', schema=None) as batch_op:
        batch_op.alter_column('delivered_at', existing_type=sa.DateTime(timezone=True),
                              nullable=False)
        batch_op.drop_column('generation')
    with op.batch_alter_table('scheduler_lease', schema=None) as batch_op:
        batch_op.drop_column('generation')
