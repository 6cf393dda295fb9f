"""The `sms` and `voice` channels by route: each number's provider from
`notifications.routes` (`rules.routes`), and once, the next route when it fails."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from dispatcher.notify.channels import UNCONFIGURED, Channel, Outgoing
from dispatcher.notify.errors import NotificationError, UnknownOutcome
from dispatcher.rules import routes
from dispatcher.rules.routes import Route


class FailedOver(NotificationError):  # noqa: N818 - the notifier's word for it
    """The provider failed and another route takes the message: send it again by it."""

    def __init__(self, move: routes.Failover) -> None:
        super().__init__(f"{move.failed} failed ({move.why}); again by {move.to}")
        self.move = move


class RoutedChannel:
    def __init__(
        self, providers: Mapping[str, Channel], routes_: Sequence[Route], default: str
    ) -> None:
        self._providers = providers
        self._routes = tuple(routes_)
        self._default = default

    def provider(self, message: Outgoing) -> str:
        return routes.provider_now(message.failover, message.phone, self._routes, self._default)

    async def send(self, message: Outgoing) -> str | None:
        channel = self._providers.get(self.provider(message), UNCONFIGURED)
        try:
            return await channel.send(message)
        except UnknownOutcome:
            # it may have gone, and the next route now could send it twice: the notifier
            # waits for its report, and without one sends it again by this route
            raise
        except Exception as exc:
            move = routes.on_error(
                mark=message.failover,
                phone=message.phone,
                routes=self._routes,
                default=self._default,
                why=str(exc)[:200] or type(exc).__name__,
            )
            if move is None or move.to not in self._providers:
                raise
            raise FailedOver(move) from exc
