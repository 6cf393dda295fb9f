"""calls

Revision ID: 20261207_0072
Revises: 20261129_0042

Why: an operator speaks with the resident (or a contact, a worker) from the alarm view:
the provider calls the operator's phone, then the other party (docs/api.md). Each call
keeps the provider's ids of both legs, so that its status reports, which the provider
may send again, are acted on once.
Create Date: 2026-12-07 04:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


import dispatcher.store.types

revision: str = '20261207_0072'
down_revision: str | None = '20261129_0042'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'calls',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('alarm_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('operator', sa.String(length=64), nullable=False),
        sa.Column('operator_phone', sa.String(length=32), nullable=False),
        sa.Column('target', sa.String(length=80), nullable=False),
        sa.Column('target_name', sa.String(length=128), nullable=False),
        sa.Column('target_phone', sa.String(length=32), nullable=False),
        sa.Column('language', sa.String(length=16), nullable=False),
        sa.Column('provider', sa.String(length=16), nullable=False),
        sa.Column('status', sa.String(length=24), nullable=False),
        sa.Column('operator_sid', sa.String(length=64), nullable=True),
        sa.Column('party_sid', sa.String(length=64), nullable=True),
        sa.Column('created_at', dispatcher.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('operator_answered_at', dispatcher.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('party_answered_at', dispatcher.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('ended_at', dispatcher.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('duration_s', sa.Integer(), nullable=True),
        sa.Column('outcome', sa.String(length=24), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['alarm_id'], ['alarms.id'], name=op.f('fk_calls_alarm_id_alarms')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_calls')),
    )
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calls_alarm_id'), ['alarm_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calls_alarm_id'))
    op.drop_table('calls')
