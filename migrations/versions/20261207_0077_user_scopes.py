"""user scopes

Revision ID: 20261207_0077
Revises: 20261207_0076

Why: a street's supervisor sees their street, a community's worker account their
community (docs/api.md, "Scopes"): `dispatcher user add ... --scope street:NAME`. NULL is
the whole city, as every user had before.
Create Date: 2026-12-07 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '20261207_0077'
down_revision: str | None = '20261207_0076'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scope', sa.String(length=160), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('scope')
