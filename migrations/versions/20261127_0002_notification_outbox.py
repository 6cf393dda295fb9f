"""notification outbox

Revision ID: 20261127_0002
Revises: 20261127_0001

Why: the escalation engine (issue 3) writes every notification to an outbox in the
same transaction as its decision, so a crash loses none and a restart sends none twice.
Create Date: 2026-11-27 07:06:27.525914
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import dispatcher.store.types

revision: str = '20261127_0002'
down_revision: str | None = '20261127_0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('notifications',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('alarm_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('recipient_key', sa.String(length=128), nullable=False),
    sa.Column('recipient_name', sa.String(length=128), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('body', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', dispatcher.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', dispatcher.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', dispatcher.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', dispatcher.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('provider_sid', sa.String(length=64), nullable=True),
    sa.Column('provider_status', sa.String(length=24), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['alarm_id'], ['alarms.id'], name=op.f('fk_notifications_alarm_id_alarms')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    sa.UniqueConstraint('alarm_id', 'purpose', 'round', 'step', 'recipient_key', 'channel', name='uq_notifications_once')
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_alarm_id'), ['alarm_id'], unique=False)
        batch_op.create_index('ix_notifications_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_phone'), ['phone'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_provider_sid'), ['provider_sid'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notifications_provider_sid'))
        batch_op.drop_index(batch_op.f('ix_notifications_phone'))
        batch_op.drop_index('ix_notifications_due')
        batch_op.drop_index(batch_op.f('ix_notifications_alarm_id'))

    op.drop_table('notifications')

