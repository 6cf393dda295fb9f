"""resident phone

Revision ID: 20261129_0055
Revises: 20261129_0054

Why: a service request tells the provider the resident's phone (docs/daily-care.md), so a
resident may have one (city file `phone:`, optional).
Create Date: 2026-11-30 09:00:05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '20261129_0055'
down_revision: str | None = '20261129_0054'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.drop_column('phone')
