"""One running transfer per person and insurance; what an application records (issue 20).

``receiving_employer``, ``agent_name`` and ``agent_id_number`` are recorded when a case is
opened (NULL for the cases opened before). ``api_token.departments``: the department(s) of a
clerk's or supervisor's token (NULL for the tokens made before: they work as both).

``transfer_case.running`` is true while a case is not in a final state of its definition, and
a partial unique index on (person_id, insurance) over the running cases lets the database
refuse a second running transfer of the same insurance for the same person, so that two
openings at once cannot both win.

The final states are read from the definition versions the database stores (each version's
``final_states``). Cases that ran side by side before this revision (the engine did not refuse
them) keep running, but only the newest of them counts as the person's running transfer.

Revision ID: 0012
Revises: 0010
"""

import sqlalchemy as sa
import yaml
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

_RUNNING = sa.text('running')
#: The final states of every shipped definition, for a version whose text cannot be read.
_FINAL = ('continued', 'rejected', 'withdrawn')


def _final_states(conn: sa.Connection) -> dict[tuple[str, int], tuple[str, ...]]:
    final: dict[tuple[str, int], tuple[str, ...]] = {}
    for name, version, source in conn.execute(sa.text(
            'SELECT name, version, source FROM workflow_definition')):
        try:
            states = yaml.safe_load(source).get('final_states')
        except (yaml.YAMLError, AttributeError):
            states = None
        final[(name, version)] = tuple(states) if isinstance(states, list) else _FINAL
    return final


def upgrade() -> None:
    # Columns added in place (no table copy: other tables refer to transfer_case).
    op.add_column('transfer_case', sa.Column('running', sa.Boolean(), nullable=False,
                                             server_default=sa.true()))
    # Recorded at opening (issue 20): whether a unit accepts the person at the destination,
    # and an entrusted agent's name and ID number.
    op.add_column('transfer_case', sa.Column('receiving_employer', sa.Boolean(), nullable=True))
    op.add_column('transfer_case', sa.Column('agent_name', sa.String(), nullable=True))
    op.add_column('transfer_case', sa.Column('agent_id_number', sa.String(), nullable=True))
    conn = op.get_bind()
    case = sa.table('transfer_case', sa.column('id', sa.Integer()),
                    sa.column('definition_name', sa.String()),
                    sa.column('definition_version', sa.Integer()),
                    sa.column('state', sa.String()), sa.column('person_id', sa.String()),
                    sa.column('insurance', sa.String()), sa.column('running', sa.Boolean()))
    final = _final_states(conn)
    for name, version in list(conn.execute(
            sa.select(case.c.definition_name, case.c.definition_version).distinct())):
        conn.execute(sa.update(case).where(
            case.c.definition_name == name, case.c.definition_version == version,
            case.c.state.in_(final.get((name, version), _FINAL))).values(running=False))
    # Side by side before this revision: only the newest holds the person's running transfer.
    newer = sa.alias(case, 'newer')
    conn.execute(sa.update(case).where(case.c.running, sa.exists().where(
        newer.c.person_id == case.c.person_id, newer.c.insurance == case.c.insurance,
        newer.c.running, newer.c.id > case.c.id)).values(running=False))
    # The department(s) of a staff token (NULL: made before departments, works as both).
    op.add_column('api_token', sa.Column('departments', sa.String(), nullable=True))
    op.create_index('ux_case_running_person', 'transfer_case', ['person_id', 'insurance'],
                    unique=True, sqlite_where=_RUNNING, postgresql_where=_RUNNING)


def downgrade() -> None:
    op.drop_index('ux_case_running_person', 'transfer_case')
    op.drop_column('api_token', 'departments')
    for column in ('agent_id_number', 'agent_name', 'receiving_employer', 'running'):
        op.drop_column('transfer_case', column)
