"""accounts and replays

Revision ID: 20261207_0073
Revises: 20261129_0042

Why: a user can be disabled (users.disabled_at; their tokens end with it), and a
provider's callback that acts (a key pressed in a call, a reply) acts once per the
provider's own ids however often it is replayed (provider_replies).
Create Date: 2026-12-07 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


import dispatcher.store.types

revision: str = '20261207_0073'
down_revision: str | None = '20261129_0042'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disabled_at', dispatcher.store.types.UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        'provider_replies',
        sa.Column('key', sa.String(length=160), nullable=False),
        sa.Column('received_at', dispatcher.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('key'),
    )


def downgrade() -> None:
    op.drop_table('provider_replies')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('disabled_at')
