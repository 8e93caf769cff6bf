"""The service under attack: each case's public case number (业务流水号), the dashboard's
server-side sessions, the progress page's tries counted per client and per (client, case
number) with back-off, and access-log entries that name many cases at once (a report read)
or none (a refused read of something that is not a case).

Cases opened before this revision get a fresh public number each.

Revision ID: 0009
Revises: 0008
"""

import secrets

import sqlalchemy as sa
from alembic import op

from workflow.core.inputs import PUBLIC_NUMBER_DIGITS, public_number_from

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('transfer_case') as batch:
        batch.add_column(sa.Column('public_number', sa.String(), nullable=True))
    conn = op.get_bind()
    ids = [row[0] for row in conn.execute(sa.text("SELECT id FROM transfer_case"))]
    given: set[str] = set()
    update = sa.text("UPDATE transfer_case SET public_number = :n WHERE id = :id")
    for start in range(0, len(ids), 10_000):
        batch_rows = []
        for case_id in ids[start:start + 10_000]:
            number = public_number_from(secrets.randbelow(10 ** (PUBLIC_NUMBER_DIGITS - 1)))
            while number in given:
                number = public_number_from(secrets.randbelow(10 ** (PUBLIC_NUMBER_DIGITS - 1)))
            given.add(number)
            batch_rows.append({"n": number, "id": case_id})
        conn.execute(update, batch_rows)
    # Left NULL-able: making it NOT NULL would rebuild the cases table on SQLite, which the
    # tables that refer to it forbid; every case has one (the engine always writes it).
    op.create_index('ix_case_public_number', 'transfer_case', ['public_number'], unique=True)

    op.drop_table('progress_lookup')
    op.create_table(
        'progress_try',
        sa.Column('client', sa.String(), primary_key=True),
        sa.Column('subject', sa.String(), primary_key=True),
        sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
        sa.Column('tries', sa.Integer(), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('next_try_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index('ix_progress_try_window', 'progress_try', ['window_start'])

    op.create_table(
        'web_session',
        sa.Column('id_hash', sa.String(), primary_key=True),
        sa.Column('token_id', sa.Integer(), sa.ForeignKey('api_token.id'), nullable=True),
        sa.Column('actor_id', sa.String(), nullable=False),
        sa.Column('role', sa.String(), nullable=False),
        sa.Column('agency', sa.String(), nullable=True),
        sa.Column('province', sa.String(), nullable=True),
        sa.Column('csrf', sa.String(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index('ix_web_session_token_id', 'web_session', ['token_id'])

    with op.batch_alter_table('access_log') as batch:
        batch.alter_column('case_id', existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column('case_ids', sa.Text(), nullable=True))
    op.create_index('ix_access_log_agency', 'access_log', ['agency', 'id'])


def downgrade() -> None:
    op.drop_index('ix_access_log_agency', 'access_log')
    op.execute("DELETE FROM access_log WHERE case_id IS NULL")
    with op.batch_alter_table('access_log') as batch:
        batch.drop_column('case_ids')
        batch.alter_column('case_id', existing_type=sa.Integer(), nullable=False)
    op.drop_table('web_session')
    op.drop_table('progress_try')
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
    op.drop_index('ix_case_public_number', 'transfer_case')
    with op.batch_alter_table('transfer_case') as batch:
        batch.drop_column('public_number')
