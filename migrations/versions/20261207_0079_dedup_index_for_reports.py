"""the terminals' dedup index covers DC-09 reports

Revision ID: 20261207_0079
Revises: 20261207_0078

Why: ingest looks a batch's (device_id, event_id) up among events and DC-09 reports
together, and the partial unique index covered events alone: PostgreSQL read the whole
event log for each batch (26 ms at 300,000 lines, growing with every day of history;
0.05 ms with the index). The index now has the lookup's own condition.
Create Date: 2026-12-07 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '20261207_0079'
down_revision: str | None = '20261207_0078'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BOTH = "kind IN ('device_event', 'device_report')"
_EVENTS = "kind = 'device_event'"


def _replace(old: str, new: str) -> None:
    with op.batch_alter_table('event_log', schema=None) as batch_op:
        batch_op.drop_index(
            'uq_event_log_device_event', postgresql_where=sa.text(old), sqlite_where=sa.text(old)
        )
        batch_op.create_index(
            'uq_event_log_device_event',
            ['device_id', 'event_id'],
            unique=True,
            postgresql_where=sa.text(new),
            sqlite_where=sa.text(new),
        )


def upgrade() -> None:
    _replace(_EVENTS, _BOTH)


def downgrade() -> None:
    _replace(_BOTH, _EVENTS)
