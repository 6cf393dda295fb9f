"""terminal accounts

Revision ID: 20261129_0005
Revises: 20261127_0004

Why: only a terminal may speak for itself on the broker (docs/protocol.md): each terminal
gets an MQTT account whose password is kept only as Mosquitto's hash, with the
generation it was derived from. A table of its own, not columns of `terminals`, which
the liveness batcher rewrites all day.
Create Date: 2026-11-29 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dispatcher.store.types

revision: str = '20261129_0005'
down_revision: str | None = '20261127_0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'terminal_accounts',
        sa.Column('device_id', sa.String(length=64), nullable=False),
        sa.Column('generation', sa.Integer(), nullable=False),
        sa.Column('password_hash', sa.String(length=255), nullable=False),
        sa.Column('updated_at', dispatcher.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('device_id', name=op.f('pk_terminal_accounts')),
    )


def downgrade() -> None:
    op.drop_table('terminal_accounts')
