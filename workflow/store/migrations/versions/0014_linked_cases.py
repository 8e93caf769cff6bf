"""A case linked to the case it needed to be opened (a definition's ``requires_case``): the
social security card application (card_application) names the pension transfer that was
continued to its agency. Cases opened before this revision link to none.

Revision ID: 0014
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('transfer_case') as batch:
        batch.add_column(sa.Column('linked_case_id', sa.Integer(), nullable=True))
        batch.create_index('ix_transfer_case_linked_case_id', ['linked_case_id'])


def downgrade() -> None:
    # No batch: SQLite drops a plain column in place (a batch would copy transfer_case and drop
    # the table the other tables refer to, which their foreign keys refuse).
    op.drop_index('ix_transfer_case_linked_case_id', 'transfer_case')
    op.drop_column('transfer_case', 'linked_case_id')
