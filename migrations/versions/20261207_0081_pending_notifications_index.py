"""an index of the notifications waiting to be sent, in the claim's order

Revision ID: 20261207_0081
Revises: 20261207_0080

Why: the notifier claims the oldest pending messages, fifty at a time. PostgreSQL
walked the primary key past every message ever sent to find them (67 ms at 100,000
sent, growing with each day of a city) or sorted every pending one (the 30,000 of a
burst): in a burst of 1,000 presses a second the claim was running in 96% of samples.
A partial index holds only the pending ones, in id order: 0.2 ms.
Create Date: 2026-12-07 20:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '20261207_0081'
down_revision: str | None = '20261207_0080'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PENDING = "status = 'pending'"


def upgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index(
            'ix_notifications_pending',
            ['id'],
            postgresql_where=sa.text(_PENDING),
            sqlite_where=sa.text(_PENDING),
        )


def downgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index(
            'ix_notifications_pending',
            postgresql_where=sa.text(_PENDING),
            sqlite_where=sa.text(_PENDING),
        )
