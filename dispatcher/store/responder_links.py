"""Responder links (docs/api.md): a random token per SMS that asks someone to act,
kept as its SHA-256; the token itself goes only into the SMS."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.store.models import Notification, ResponderLink

TOKEN_BYTES = 16  # 128 bits: unguessable; 22 URL-safe characters, short enough for an SMS


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add(*, session: AsyncSession, n: Notification, alarm_id: int, now: datetime) -> str:
    """A new link for the person of `n` about its alarm; the token, for the SMS."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(
        ResponderLink(
            token_hash=token_hash(token),
            notification_id=n.id,
            alarm_id=alarm_id,
            recipient_key=n.recipient_key,
            created_at=now,
        )
    )
    return token


async def find(*, session: AsyncSession, token: str) -> ResponderLink | None:
    if not token or len(token) > 64:
        return None
    return await session.get(ResponderLink, token_hash(token))
