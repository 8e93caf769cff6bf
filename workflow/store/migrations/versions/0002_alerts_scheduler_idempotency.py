"""Deadlines and production use: alerts, deliveries, scheduler leases and runs,
recomputed due dates, idempotency keys.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('alert_subscriber',
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('since_alert_id', sa.Integer(), nullable=False),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('scheduler_lease',
    sa.Column('job', sa.String(), nullable=False),
    sa.Column('holder', sa.String(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('job')
    )
    op.create_table('scheduler_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job', sa.String(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('holder', sa.String(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(), nullable=False),
    sa.Column('detail', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('scheduler_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scheduler_run_job'), ['job'], unique=False)

    op.create_table('idempotency_key',
    sa.Column('key', sa.String(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('request_hash', sa.String(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['transfer_case.id'], ),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(), nullable=False),
    sa.Column('level', sa.String(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('span_id', sa.Integer(), nullable=True),
    sa.Column('subject', sa.String(), nullable=False),
    sa.Column('owner', sa.String(), nullable=False),
    sa.Column('owner_agency', sa.String(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('working_days_late', sa.Integer(), nullable=True),
    sa.Column('provisional', sa.Boolean(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['transfer_case.id'], ),
    sa.ForeignKeyConstraint(['span_id'], ['span.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_level'), ['level'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_owner_agency'), ['owner_agency'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_run_id'), ['run_id'], unique=False)

    op.create_table('span_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('span_id', sa.Integer(), nullable=False),
    sa.Column('old_due_on', sa.Date(), nullable=False),
    sa.Column('new_due_on', sa.Date(), nullable=False),
    sa.Column('old_provisional', sa.Boolean(), nullable=False),
    sa.Column('new_provisional', sa.Boolean(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(), nullable=False),
    sa.ForeignKeyConstraint(['span_id'], ['span.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('span_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_span_change_span_id'), ['span_id'], unique=False)

    op.create_table('alert_delivery',
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('subscriber', sa.String(), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alert.id'], ),
    sa.PrimaryKeyConstraint('alert_id', 'subscriber')
    )


def downgrade() -> None:
    op.drop_table('alert_delivery')
    with op.batch_alter_table('span_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_span_change_span_id'))

    op.drop_table('span_change')
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_run_id'))
        batch_op.drop_index(batch_op.f('ix_alert_owner_agency'))
        batch_op.drop_index(batch_op.f('ix_alert_level'))
        batch_op.drop_index(batch_op.f('ix_alert_case_id'))

    op.drop_table('alert')
    op.drop_table('idempotency_key')
    with op.batch_alter_table('scheduler_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scheduler_run_job'))

    op.drop_table('scheduler_run')
    op.drop_table('scheduler_lease')
    op.drop_table('alert_subscriber')
