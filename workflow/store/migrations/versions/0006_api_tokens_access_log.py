"""The service: API tokens (stored hashed), the access log of who read whose case, and the
tries on the person's progress page (for its rate limit).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'api_token',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('token_hash', sa.String(), nullable=False, unique=True),
        sa.Column('actor_id', sa.String(), nullable=False),
        sa.Column('role', sa.String(), nullable=False),
        sa.Column('agency', sa.String(), nullable=True),
        sa.Column('province', sa.String(), nullable=True),
        sa.Column('person_id', sa.String(), nullable=True),
        sa.Column('label', sa.String(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        'access_log',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor_id', sa.String(), nullable=False),
        sa.Column('role', sa.String(), nullable=False),
        sa.Column('agency', sa.String(), nullable=True),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('view', sa.String(), nullable=False),
        sa.Column('via', sa.String(), nullable=False),
    )
    op.create_index('ix_access_log_case_id', 'access_log', ['case_id'])
    op.create_index('ix_access_log_at', 'access_log', ['at'])
    op.create_table(
        'progress_lookup',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('client', sa.String(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('matched', sa.Boolean(), nullable=False),
    )
    op.create_index('ix_progress_lookup_client_at', 'progress_lookup', ['client', 'at'])
    op.create_index('ix_progress_lookup_case_at', 'progress_lookup', ['case_id', 'at'])


def downgrade() -> None:
    op.drop_table('progress_lookup')
    op.drop_table('access_log')
    op.drop_table('api_token')
