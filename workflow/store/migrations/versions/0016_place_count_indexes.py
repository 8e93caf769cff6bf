"""A case list's total by place at national scale (issue 22).

The desk's search counts the cases of an agency or a province: their origin *or* their
destination is there. ``count_cases`` counts it as two disjoint counts (origin there;
destination there and origin not), which these indexes answer from the index alone, where the
single-column indexes of the origin and the destination made PostgreSQL visit every matching
row (a province's continued pension cases at 5 million cases: 2.2 s; with these, 68 ms). They
replace those indexes (the same leading column: every query they served, these serve).
PostgreSQL only: on SQLite a step, which changes the state, would write two more index entries
(5 % of a step) for counts an embedded database makes quickly anyway.

- ``ix_case_origin_state`` (origin, state, insurance)
- ``ix_case_destination_origin_state`` (destination, origin, state, insurance)

Revision ID: 0016
Revises: 0015
"""

from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":  # SQLite keeps its one-column indexes
        return
    op.create_index('ix_case_origin_state', 'transfer_case', ['origin', 'state', 'insurance'])
    op.create_index('ix_case_destination_origin_state', 'transfer_case',
                    ['destination', 'origin', 'state', 'insurance'])
    op.drop_index('ix_transfer_case_origin', 'transfer_case')
    op.drop_index('ix_transfer_case_destination', 'transfer_case')


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.create_index('ix_transfer_case_destination', 'transfer_case', ['destination'])
    op.create_index('ix_transfer_case_origin', 'transfer_case', ['origin'])
    op.drop_index('ix_case_destination_origin_state', 'transfer_case')
    op.drop_index('ix_case_origin_state', 'transfer_case')
