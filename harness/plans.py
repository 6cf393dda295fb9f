"""The plan each database keeps for a statement the dispatcher runs many times, for
tests that an index serves it."""

from __future__ import annotations

from sqlalchemy import ClauseElement, text

from dispatcher.store.db import create_engine, is_sqlite


def _literal(value: object) -> str:
    if isinstance(value, list):  # PostgreSQL's arrays
        return "'{" + ",".join(f'"{v}"' for v in value) + "}'"
    return f"'{value}'"


async def kept_plan(db_url: str, statement: ClauseElement, *, scans: bool = False) -> str:
    """SQLite's query plan; on PostgreSQL the generic plan of the prepared statement (no
    values known: an index in it serves any values), sequential scans discouraged so
    that an index that can serve it shows in it. `scans`: for tables the
    test filled and analyzed, the plan PostgreSQL makes for these values, every path
    open."""
    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            compiled = statement.compile(
                dialect=conn.dialect, compile_kwargs={"render_postcompile": True}
            )
            order = getattr(compiled, "positiontup", None) or ()  # asyncpg and sqlite: positional
            values = [compiled.params[name] for name in order]
            if is_sqlite(db_url):
                rows = await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", tuple(values))
                return " ".join(str(r[-1]) for r in rows)
            mode = "force_custom_plan" if scans else "force_generic_plan"
            await conn.execute(text(f"SET plan_cache_mode = {mode}"))
            if not scans:
                await conn.execute(text("SET enable_seqscan = off"))
            await conn.exec_driver_sql(f"PREPARE kept AS {compiled}")
            args = ", ".join(_literal(v) for v in values)
            rows = await conn.exec_driver_sql(
                f"EXPLAIN EXECUTE kept({args})" if args else "EXPLAIN EXECUTE kept"
            )
            return " ".join(str(r[0]) for r in rows)
    finally:
        await engine.dispose()
