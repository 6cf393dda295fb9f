"""sends in doubt

Revision ID: 20261207_0078
Revises: 20261207_0077

Why: a provider that did not answer in time may have sent the message anyway. The
notifier now waits for its report before it sends again (never the same SMS twice);
`notifications.doubted_at` marks such a row while it waits.
Create Date: 2026-12-07 10:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dispatcher.store.types

revision: str = '20261207_0078'
down_revision: str | None = '20261207_0077'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('doubted_at', dispatcher.store.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('doubted_at')
