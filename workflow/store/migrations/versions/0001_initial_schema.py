"""The transfer engine: definitions, cases, history and spans.

Revision ID: 0001
Revises: (none)
"""

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
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


def downgrade() -> None:
    with op.batch_alter_table('span', schema=None) as batch_op:
        batch_op.drop_index('ix_span_running_due', sqlite_where=sa.text('ended_on IS NULL'), postgresql_where=sa.text('ended_on IS NULL'))
        batch_op.drop_index('ix_span_ended_on')
        batch_op.drop_index(batch_op.f('ix_span_case_id'))

    op.drop_table('span')
    op.drop_table('case_history')
    op.drop_table('workflow_definition')
    with op.batch_alter_table('transfer_case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transfer_case_person_id'))
        batch_op.drop_index(batch_op.f('ix_transfer_case_origin'))
        batch_op.drop_index(batch_op.f('ix_transfer_case_destination'))
        batch_op.drop_index('ix_case_state')
        batch_op.drop_index('ix_case_insurance_state_last')

    op.drop_table('transfer_case')
