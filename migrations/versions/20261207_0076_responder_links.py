"""responder links and where residents live

Revision ID: 20261207_0076
Revises: 20261207_0070

Why: every SMS that asks someone to act carries a link to the responder's page
(docs/api.md); the link's token is kept only as its hash, with the notification it
belongs to (one recipient, one alarm). Residents get `lat`/`lon` from the city file,
for the map and the responder's map link.
Create Date: 2026-12-07 04:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dispatcher.store.types

revision: str = '20261207_0076'
down_revision: str | None = '20261207_0070'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'responder_links',
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('notification_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('alarm_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('recipient_key', sa.String(length=128), nullable=False),
        sa.Column('created_at', dispatcher.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_responder_links')),
    )
    with op.batch_alter_table('responder_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_responder_links_alarm_id'), ['alarm_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_responder_links_notification_id'), ['notification_id'], unique=False)
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lat', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('lon', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.drop_column('lon')
        batch_op.drop_column('lat')
    with op.batch_alter_table('responder_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_responder_links_notification_id'))
        batch_op.drop_index(batch_op.f('ix_responder_links_alarm_id'))
    op.drop_table('responder_links')
