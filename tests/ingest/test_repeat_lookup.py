"""Ingest looks each batch's (device_id, event_id) up among what was accepted before, by
the partial unique index: a lookup that read the whole event log grew with every day of
a city's history (26 ms a batch at 300,000 lines on PostgreSQL). The plan is asked of
each database for the statement ingest sends, its values bound as they are at run time
(a generic plan on PostgreSQL: the values unknown)."""

from __future__ import annotations

from sqlalchemy import text

from dispatcher.ingest.transaction import logged_already
from dispatcher.store.db import create_engine, is_sqlite

KEYS = [("T-0001", "sos-1"), ("T-0002", "sos-2")]


async def test_repeats_are_looked_up_by_the_index(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            compiled = logged_already(KEYS).compile(
                dialect=conn.dialect, compile_kwargs={"render_postcompile": True}
            )
            values = [compiled.params[name] for name in compiled.positiontup or ()]
            if is_sqlite(db_url):
                rows = await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", tuple(values))
                plan = " ".join(str(r[-1]) for r in rows)
            else:
                # the plan PostgreSQL keeps for a statement run many times: no values
                # known, so only what the query itself says can pick the partial index
                await conn.execute(text("SET plan_cache_mode = force_generic_plan"))
                await conn.execute(text("SET enable_seqscan = off"))
                await conn.exec_driver_sql(f"PREPARE lookup AS {compiled}")
                args = ", ".join(f"'{v}'" for v in values)
                rows = await conn.exec_driver_sql(f"EXPLAIN EXECUTE lookup({args})")
                plan = " ".join(str(r[0]) for r in rows)
    finally:
        await engine.dispose()
    assert "uq_event_log_device_event" in plan, plan
