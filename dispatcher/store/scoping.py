"""Sessions that see one part of the city (`dispatcher.rules.scopes`).

A user with a scope reads and changes the database through a session that knows its
communities: every ORM statement it runs (select, update, delete) is given the
criteria of SQLAlchemy's `with_loader_criteria`, wherever the entity appears, joins
and subqueries included. So a list, a report, an export or an action written without
thinking of scopes still sees only its part of the city, and an id outside it is not
found (404). A session without communities (the whole city, the engine, the notifier)
is untouched.

Everything of a resident's or a community's hangs off these rows: an alarm's timeline,
its notifications and calls are reached through the alarm, which the scope has checked.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from dispatcher.store.models import (
    Alarm,
    AuditEntry,
    Community,
    Contact,
    Provider,
    Resident,
    Terminal,
    Worker,
)

_KEY: Final = "scope_communities"


def scoped(
    sessions: async_sessionmaker[AsyncSession], communities: frozenset[str] | None
) -> async_sessionmaker[AsyncSession]:
    """`sessions`, or for a scope (its community ids) a maker of sessions that see only
    them."""
    if communities is None:
        return sessions
    kw = dict(sessions.kw)
    kw["info"] = {**(kw.get("info") or {}), _KEY: tuple(sorted(communities))}
    return async_sessionmaker(class_=sessions.class_, **kw)


def communities_of(session: AsyncSession) -> frozenset[str] | None:
    """The communities a session is limited to; None: the whole city."""
    found = session.info.get(_KEY)
    return None if found is None else frozenset(found)


def _criteria(ids: tuple[str, ...]) -> tuple[Any, ...]:
    residents = select(Resident.id).where(Resident.community_id.in_(ids))
    return (
        with_loader_criteria(Alarm, Alarm.community_id.in_(ids), include_aliases=True),
        with_loader_criteria(Resident, Resident.community_id.in_(ids), include_aliases=True),
        with_loader_criteria(Community, Community.id.in_(ids), include_aliases=True),
        with_loader_criteria(Worker, Worker.community_id.in_(ids), include_aliases=True),
        with_loader_criteria(Provider, Provider.community_id.in_(ids), include_aliases=True),
        with_loader_criteria(Contact, Contact.resident_id.in_(residents), include_aliases=True),
        # a terminal belongs to its resident's community; one without a resident to none
        with_loader_criteria(Terminal, Terminal.resident_id.in_(residents), include_aliases=True),
        with_loader_criteria(AuditEntry, AuditEntry.community_id.in_(ids), include_aliases=True),
    )


@event.listens_for(Session, "do_orm_execute")
def _only_in_scope(state: ORMExecuteState) -> None:
    ids = state.session.info.get(_KEY)
    if ids is None or state.is_column_load or state.is_relationship_load:
        return
    if state.is_select or state.is_update or state.is_delete:
        state.statement = state.statement.options(*_criteria(ids))
