"""alarms by creation time

Revision ID: 20261129_0061
Revises: 20261129_0060

Why: the history lists alarms newest first and pages by (created_at, id), and reports
read a range of days of `created_at`; without an index both read every alarm. On a
generated year of a 10,000-resident city (bench/report_bench.py) a history page went
from 297 ms to 14 ms and a 7-day report from 321 ms to 236 ms.
Create Date: 2026-11-30 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261129_0061"
down_revision: str | None = "20261129_0060"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.create_index("ix_alarms_created_id", ["created_at", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.drop_index("ix_alarms_created_id")
