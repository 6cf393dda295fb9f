"""terminal last heartbeat

Revision ID: 20261127_0004
Revises: 20261127_0003

Why: a terminal that stops its heartbeats must raise a device alarm; only one that has
sent heartbeats can be said to have missed them.
Create Date: 2026-11-27 08:19:12.735112
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


import dispatcher.store.types

revision: str = '20261127_0004'
down_revision: str | None = '20261127_0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    with op.batch_alter_table('terminals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_heartbeat', dispatcher.store.types.UTCDateTime(timezone=True), nullable=True))




def downgrade() -> None:

    with op.batch_alter_table('terminals', schema=None) as batch_op:
        batch_op.drop_column('last_heartbeat')


