"""failed logins counted in the database

Revision ID: 20261129_0042
Revises: 20261129_0041

Why: failed logins were counted in each process's memory and per username whatever the
address, so five failures from anywhere locked an operator out everywhere, and N
processes allowed N times the guesses. They are now counted per user at an address and
per address, in the database, shared by every process.
Create Date: 2026-11-29 19:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dispatcher.store.types

revision: str = "20261129_0042"
down_revision: str | None = "20261129_0041"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_at", dispatcher.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_failures")),
    )


def downgrade() -> None:
    op.drop_table("login_failures")
