"""Who may log in to the embedded broker, and as whom (docs/protocol.md).

The dispatcher's own account lives in memory (`mqtt.username`, `mqtt.password`); a
terminal's is read from the database at each login, so a terminal loaded, or given a new
password, while the service runs can log in without a restart.
"""

from __future__ import annotations

import hmac

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devices.protocol_v1 import is_device_id
from dispatcher.broker_accounts import store as terminal_accounts
from dispatcher.broker_accounts.passwords import verify
from dispatcher.broker_accounts.topics import DispatcherLogin, Login, TerminalLogin


class BrokerAccounts:
    def __init__(
        self,
        *,
        username: str,
        password: str,
        prefix: str,
        sessions: async_sessionmaker[AsyncSession],
    ) -> None:
        if not password:
            raise ValueError("the dispatcher's account needs a password")
        self.prefix = prefix
        self._username = username
        self._password = password.encode()
        self._sessions = sessions

    async def login(self, username: str | None, password: str | None) -> Login | None:
        """The login these credentials give, or None. Raises if the database fails."""
        if not username or password is None:
            return None
        if username == self._username:
            if hmac.compare_digest(password.encode(), self._password):
                return DispatcherLogin()
            return None
        if not is_device_id(username):
            return None
        async with self._sessions() as session:
            hashed = await terminal_accounts.password_hash(session=session, device_id=username)
        if hashed is None or not verify(password, hashed):
            return None
        return TerminalLogin(username)

    def login_of(self, username: str | None) -> Login | None:
        """Whom an already authenticated connection speaks for."""
        if username == self._username:
            return DispatcherLogin()
        if username is not None and is_device_id(username):
            return TerminalLogin(username)
        return None
