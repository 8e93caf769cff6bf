"""The papers the steps issue, kept as issued, and their gapless numbering.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'paper',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('case_id', sa.Integer(), sa.ForeignKey('transfer_case.id'), nullable=False),
        sa.Column('kind', sa.String(), nullable=False),
        sa.Column('agency', sa.String(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(), nullable=False),
        sa.Column('title', sa.String(), nullable=False),
        sa.Column('issued_on', sa.Date(), nullable=False),
        sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor_id', sa.String(), nullable=False),
        sa.Column('sha256', sa.String(), nullable=False),
        sa.Column('replaces', sa.Integer(), sa.ForeignKey('paper.id'), nullable=True,
                  unique=True),
        sa.Column('reason', sa.String(), nullable=True),
        sa.Column('content', sa.JSON(), nullable=False),
        sa.Column('html', sa.Text(), nullable=False),
        sa.UniqueConstraint('agency', 'kind', 'year', 'seq', name='uq_paper_number'),
    )
    op.create_index('ix_paper_case_id', 'paper', ['case_id'])
    op.create_table(
        'paper_counter',
        sa.Column('agency', sa.String(), primary_key=True),
        sa.Column('kind', sa.String(), primary_key=True),
        sa.Column('year', sa.Integer(), primary_key=True),
        sa.Column('last', sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('paper_counter')
    op.drop_index('ix_paper_case_id', 'paper')
    op.drop_table('paper')
