"""notifications about no alarm

Revision ID: 20261129_0052
Revises: 20261129_0051

Why: some messages concern no single alarm (the morning check-in summary to the worker
on shift, the supervisors told of an SMS opt-out) and must still go through the outbox
and the throttle; `subject` names what they are about and de-duplicates them, as
`uq_notifications_once` (unchanged) does for alarms.
Create Date: 2026-11-30 09:00:02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '20261129_0052'
down_revision: str | None = '20261129_0051'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject', sa.String(length=128), nullable=True))
        batch_op.alter_column(
            'alarm_id',
            existing_type=sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
            nullable=True,
        )
        batch_op.create_index(
            'uq_notifications_once_about',
            ['subject', 'purpose', 'recipient_key', 'channel'],
            unique=True,
            postgresql_where=sa.text('alarm_id IS NULL'),
            sqlite_where=sa.text('alarm_id IS NULL'),
        )


def downgrade() -> None:
    op.execute('DELETE FROM notifications WHERE alarm_id IS NULL')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('uq_notifications_once_about')
        batch_op.alter_column(
            'alarm_id',
            existing_type=sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
            nullable=False,
        )
        batch_op.drop_column('subject')
