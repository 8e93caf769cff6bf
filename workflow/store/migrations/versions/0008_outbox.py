"""The outbox: events written with the steps that cause them, their messages to each
recipient, the agencies' subscriptions, and the applicant's contact details.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'case_contact',
        sa.Column('case_id', sa.Integer(), sa.ForeignKey('transfer_case.id'), primary_key=True),
        sa.Column('phone', sa.String(), nullable=True),
        sa.Column('email', sa.String(), nullable=True),
    )
    op.create_table(
        'outbox_event',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('event_id', sa.String(), nullable=False, unique=True),
        sa.Column('name', sa.String(), nullable=False),
        sa.Column('case_id', sa.Integer(), sa.ForeignKey('transfer_case.id'), nullable=False),
        sa.Column('business_date', sa.Date(), nullable=False),
        sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('paper_id', sa.Integer(), sa.ForeignKey('paper.id'), nullable=True),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('fanned_out', sa.Boolean(), nullable=False),
        sa.Column('state', sa.String(), nullable=False),
        sa.Column('messages', sa.Integer(), nullable=False),
    )
    op.create_index('ix_outbox_event_case_id', 'outbox_event', ['case_id'])
    op.create_index('ix_outbox_event_state', 'outbox_event', ['state', 'id'])
    op.create_index('ix_outbox_event_fanned_out', 'outbox_event', ['fanned_out', 'id'])
    op.create_table(
        'outbox_message',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('event_id', sa.String(), sa.ForeignKey('outbox_event.event_id'),
                  nullable=False),
        sa.Column('event_name', sa.String(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(), nullable=False),
        sa.Column('target', sa.String(), nullable=False),
        sa.Column('target_masked', sa.String(), nullable=False),
        sa.Column('subscription_id', sa.Integer(), nullable=True),
        sa.Column('state', sa.String(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_error', sa.String(), nullable=True),
        sa.Column('provider_id', sa.String(), nullable=True),
        sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('claim_generation', sa.Integer(), nullable=True),
        sa.UniqueConstraint('event_id', 'channel', 'target', name='uq_outbox_message_recipient'),
    )
    op.create_index('ix_outbox_message_event_id', 'outbox_message', ['event_id'])
    op.create_index('ix_outbox_message_due', 'outbox_message', ['state', 'next_attempt_at'])
    op.create_table(
        'subscription',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('agency', sa.String(), nullable=True),
        sa.Column('province', sa.String(), nullable=True),
        sa.Column('events', sa.JSON(), nullable=False),
        sa.Column('channel', sa.String(), nullable=False),
        sa.Column('target', sa.String(), nullable=False),
        sa.Column('secret', sa.String(), nullable=True),
        sa.Column('created_by', sa.String(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('subscription')
    op.drop_index('ix_outbox_message_due', 'outbox_message')
    op.drop_index('ix_outbox_message_event_id', 'outbox_message')
    op.drop_table('outbox_message')
    op.drop_index('ix_outbox_event_fanned_out', 'outbox_event')
    op.drop_index('ix_outbox_event_state', 'outbox_event')
    op.drop_index('ix_outbox_event_case_id', 'outbox_event')
    op.drop_table('outbox_event')
    op.drop_table('case_contact')
