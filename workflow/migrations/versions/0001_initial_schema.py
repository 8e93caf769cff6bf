"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 04:36:56.657801
"""

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
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

    op.create_table('transfer_case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('definition_name', sa.String(), nullable=False),
    sa.Column('definition_version', sa.Integer(), nullable=False),
    sa.Column('insurance', sa.String(), nullable=False),
    sa.Column('state', sa.String(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.String(), nullable=False),
    sa.Column('person_name', sa.String(), nullable=False),
    sa.Column('origin', sa.String(), nullable=False),
    sa.Column('destination', sa.String(), nullable=False),
    sa.Column('scope', sa.String(), nullable=False),
    sa.Column('applicant', sa.String(), nullable=False),
    sa.Column('channel', sa.String(), nullable=False),
    sa.Column('documents', sa.JSON(), nullable=False),
    sa.Column('requested_documents', sa.JSON(), nullable=False),
    sa.Column('opened_on', sa.Date(), nullable=False),
    sa.Column('last_event_on', sa.Date(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=True),
    sa.Column('contribution_months', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('transfer_case', schema=None) as batch_op:
        batch_op.create_index('ix_case_insurance_state_last', ['insurance', 'state', 'last_event_on'], unique=False)
        batch_op.create_index('ix_case_state', ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_transfer_case_destination'), ['destination'], unique=False)
        batch_op.create_index(batch_op.f('ix_transfer_case_origin'), ['origin'], unique=False)
        batch_op.create_index(batch_op.f('ix_transfer_case_person_id'), ['person_id'], unique=False)

    op.create_table('workflow_definition',
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(), nullable=False),
    sa.Column('source', sa.String(), nullable=False),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', 'version')
    )
    op.create_table('case_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('trigger', sa.String(), nullable=False),
    sa.Column('from_state', sa.String(), nullable=True),
    sa.Column('to_state', sa.String(), nullable=False),
    sa.Column('actor_id', sa.String(), nullable=False),
    sa.Column('actor_role', sa.String(), nullable=False),
    sa.Column('actor_agency', sa.String(), nullable=True),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('documents', sa.JSON(), nullable=False),
    sa.Column('comment', sa.String(), nullable=True),
    sa.Column('inputs', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['transfer_case.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'seq', name='uq_case_history_seq')
    )
    op.create_table('idempotency_key',
    sa.Column('key', sa.String(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('request_hash', sa.String(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['transfer_case.id'], ),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('span',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('owner', sa.String(), nullable=False),
    sa.Column('owner_agency', sa.String(), nullable=False),
    sa.Column('limit_working_days', sa.Integer(), nullable=True),
    sa.Column('limit_months', sa.Integer(), nullable=True),
    sa.Column('started_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('provisional', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['transfer_case.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('span', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_span_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_span_ended_on', ['ended_on'], unique=False)
        batch_op.create_index('ix_span_running_due', ['due_on'], unique=False, sqlite_where=sa.text('ended_on IS NULL'), postgresql_where=sa.text('ended_on IS NULL'))

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
    with op.batch_alter_table('span', schema=None) as batch_op:
        batch_op.drop_index('ix_span_running_due', sqlite_where=sa.text('ended_on IS NULL'), postgresql_where=sa.text('ended_on IS NULL'))
        batch_op.drop_index('ix_span_ended_on')
        batch_op.drop_index(batch_op.f('ix_span_case_id'))

    op.drop_table('span')
    op.drop_table('idempotency_key')
    op.drop_table('case_history')
    op.drop_table('workflow_definition')
    with op.batch_alter_table('transfer_case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transfer_case_person_id'))
        batch_op.drop_index(batch_op.f('ix_transfer_case_origin'))
        batch_op.drop_index(batch_op.f('ix_transfer_case_destination'))
        batch_op.drop_index('ix_case_state')
        batch_op.drop_index('ix_case_insurance_state_last')

    op.drop_table('transfer_case')
    with op.batch_alter_table('scheduler_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scheduler_run_job'))

    op.drop_table('scheduler_run')
    op.drop_table('scheduler_lease')
    op.drop_table('alert_subscriber')
