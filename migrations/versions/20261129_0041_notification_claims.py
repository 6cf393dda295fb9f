"""who claimed a notification for sending, and when

Revision ID: 20261129_0041
Revises: 20261129_0040

Why: with several processes, one that restarted took every row left `sending` for its
own interrupted sends, and failed the others' sends in flight. A claim is now signed
with the process and the time, and a process recovers only its own or stale ones.
Create Date: 2026-11-29 19:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dispatcher.store.types

revision: str = "20261129_0041"
down_revision: str | None = "20261129_0040"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=128), nullable=True))
        batch_op.add_column(
            sa.Column(
                "claimed_at", dispatcher.store.types.UTCDateTime(timezone=True), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("claimed_by")
