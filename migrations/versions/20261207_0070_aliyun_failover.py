"""aliyun failover

Revision ID: 20261207_0070
Revises: 20261207_0071 (the chain's head; the brief named 20261129_0062)

Why: a message whose provider fails goes once by the next route (Alibaba Cloud, then
Twilio), so a row keeps whether it failed over; Alibaba Cloud's pushes are retried and
carry no id, so each is kept by a key of what it says and acted on once.
Create Date: 2026-12-07 04:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


import dispatcher.store.types

revision: str = '20261207_0070'
down_revision: str | None = '20261207_0071'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failover', sa.String(length=40), nullable=True))
    op.create_table(
        'provider_pushes',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('received_at', dispatcher.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_provider_pushes')),
    )


def downgrade() -> None:
    op.drop_table('provider_pushes')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('failover')
