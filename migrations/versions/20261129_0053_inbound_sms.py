"""inbound sms

Revision ID: 20261129_0053
Revises: 20261129_0052

Why: Twilio may post the same incoming SMS twice (issue 9 §5): each MessageSid acts
once, and what people texted us is kept.
Create Date: 2026-11-30 09:00:03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


import dispatcher.store.types

revision: str = '20261129_0053'
down_revision: str | None = '20261129_0052'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('inbound_sms',
    sa.Column('message_sid', sa.String(length=64), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('received_at', dispatcher.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('message_sid', name=op.f('pk_inbound_sms'))
    )


def downgrade() -> None:
    op.drop_table('inbound_sms')
