"""The applicant's identity: the actor id of who opened a case as its applicant.

Cases opened before this revision get it from their opening history row, when the one who
opened the case was the applicant (not a clerk on their behalf).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('transfer_case') as batch:
        batch.add_column(sa.Column('applicant_id', sa.String(), nullable=True))
    op.execute(
        "UPDATE transfer_case SET applicant_id = ("
        "SELECT h.actor_id FROM case_history h WHERE h.case_id = transfer_case.id "
        "AND h.seq = 1 AND h.actor_role = transfer_case.applicant)"
    )


def downgrade() -> None:
    with op.batch_alter_table('transfer_case') as batch:
        batch.drop_column('applicant_id')
