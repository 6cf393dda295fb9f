"""outage grouping

Revision ID: 20261129_0051
Revises: 20261129_0050

Why: terminals that lose power together become one outage alarm (docs/daily-care.md); a
terminal's power_lost must be held for the grouping window before it raises an alarm
of its own, so when it lost power is kept on the terminal. One open outage per
community and one outage holding a terminal at a time, whatever two engines decide.
Create Date: 2026-11-30 09:00:01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


import dispatcher.store.types

revision: str = '20261129_0051'
down_revision: str | None = '20261129_0050'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('terminals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('power_lost_at', dispatcher.store.types.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('alarms', schema=None) as batch_op:
        batch_op.create_index(
            'uq_alarms_open_outage',
            ['community_id'],
            unique=True,
            postgresql_where=sa.text("type = 'outage' AND status <> 'resolved'"),
            sqlite_where=sa.text("type = 'outage' AND status <> 'resolved'"),
        )

    with op.batch_alter_table('outage_members', schema=None) as batch_op:
        batch_op.create_index(
            'uq_outage_members_held',
            ['device_id'],
            unique=True,
            postgresql_where=sa.text('left_at IS NULL'),
            sqlite_where=sa.text('left_at IS NULL'),
        )


def downgrade() -> None:
    with op.batch_alter_table('outage_members', schema=None) as batch_op:
        batch_op.drop_index('uq_outage_members_held')

    with op.batch_alter_table('alarms', schema=None) as batch_op:
        batch_op.drop_index('uq_alarms_open_outage')

    with op.batch_alter_table('terminals', schema=None) as batch_op:
        batch_op.drop_column('power_lost_at')
