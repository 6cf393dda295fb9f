"""dc09 terminals

Revision ID: 20261207_0071
Revises: 20261207_0073

Why: terminals of other makers report by SIA DC-09 (docs/protocol.md); the receiver finds
a message's terminal by its account, and needs that account's AES key.
Create Date: 2026-12-07 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '20261207_0071'
down_revision: str | None = '20261207_0073'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('terminals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('protocol', sa.String(length=8), server_default='mqtt', nullable=False))
        batch_op.add_column(sa.Column('dc09_account', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('dc09_key', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint('uq_terminals_dc09_account', ['dc09_account'])


def downgrade() -> None:
    with op.batch_alter_table('terminals', schema=None) as batch_op:
        batch_op.drop_constraint('uq_terminals_dc09_account', type_='unique')
        batch_op.drop_column('dc09_key')
        batch_op.drop_column('dc09_account')
        batch_op.drop_column('protocol')
