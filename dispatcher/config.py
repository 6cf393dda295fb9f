"""The service's configuration: parsed once from YAML and the environment, then passed in.

Every key can be overridden by `DISPATCHER_<SECTION>__<KEY>` (docs/configuration.md).
"""

from __future__ import annotations

import ipaddress
import socket
from datetime import datetime, time
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from dispatcher.rules.policy import EscalationPolicies, default_policies
from dispatcher.rules.routes import Route

DEFAULT_CONFIG = Path("config.yaml")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatabaseConfig(_Section):
    url: str = "sqlite+aiosqlite:///var/dispatcher.db"
    echo: bool = False


class EmbeddedBrokerConfig(_Section):
    host: str = "127.0.0.1"
    # not 1883: a developer machine often runs Mosquitto there already
    port: int = 1884
    # a TLS listener for terminals in the field, when set (with certfile and keyfile)
    tls_port: int | None = None
    certfile: str | None = None
    keyfile: str | None = None
    # the largest MQTT packet a client may send, header included, as Mosquitto's
    # max_packet_size (deploy/mosquitto.conf): an event's 4 KiB and its topic fit; a
    # larger one closes the sender's connection before its payload is read
    max_packet_bytes: int = Field(default=5120, ge=1024, le=268_435_455)

    @model_validator(mode="after")
    def _tls_complete(self) -> EmbeddedBrokerConfig:
        if self.tls_port is not None and not (self.certfile and self.keyfile):
            raise ValueError("tls_port needs certfile and keyfile")
        return self


# the characters of a device id (docs/protocol.md), which is also a terminal's MQTT username
_DEVICE_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


class MqttConfig(_Section):
    # empty means: start the embedded broker inside the process
    url: str = ""
    topic_prefix: str = "eldercare"
    shared_group: str | None = None
    # empty: dispatcher@HOSTNAME:HTTP_PORT (Settings fills it in), stable across restarts
    # and different for each process of a machine
    client_id: str = ""
    username: str = "dispatcher"
    # on the embedded broker, empty means a new random password at each start
    password: str | None = None
    # the CA that signed the broker's certificate, for mqtts:// (empty: the system's CAs)
    ca_file: str | None = None
    # the secret from which terminal passwords are derived (made on first use)
    credentials_key_file: str = "var/mqtt-credentials.key"
    # how long the broker keeps our session (and queues presses) while we are down
    session_expiry_s: int = 7 * 24 * 3600
    keepalive_s: int = 30
    reconnect_min_s: float = 0.5
    # short: back within seconds of the broker's return (a reconnect costs little)
    reconnect_max_s: float = 5.0
    embedded: EmbeddedBrokerConfig = Field(default_factory=EmbeddedBrokerConfig)

    @field_validator("topic_prefix")
    @classmethod
    def _prefix_is_plain(cls, value: str) -> str:
        if not value or any(c in value for c in "+#") or value.startswith("/"):
            raise ValueError("topic_prefix must be a plain topic level path without wildcards")
        return value.rstrip("/")

    @field_validator("client_id")
    @classmethod
    def _client_id_no_terminal_can_claim(cls, value: str) -> str:
        # a terminal's client id is its device id (use_username_as_clientid), so one
        # character outside that alphabet keeps every terminal off the dispatcher's session
        if value and set(value) <= _DEVICE_ID_CHARS:
            raise ValueError(
                f"client_id {value!r} could be a terminal's device id; include a character "
                "other than A-Z a-z 0-9 - _, e.g. 'dispatcher.1' or 'dispatcher@host'"
            )
        return value

    @field_validator("username")
    @classmethod
    def _username_fits_mosquitto_files(cls, value: str) -> str:
        if not value or ":" in value or any(c.isspace() for c in value):
            raise ValueError("username must be non-empty, without ':' or spaces")
        return value

    @property
    def is_embedded(self) -> bool:
        return not self.url


class HttpConfig(_Section):
    host: str = "127.0.0.1"
    port: int = 8080
    token_ttl_s: int = 12 * 3600
    # behind a TLS reverse proxy: the addresses (or networks) of the proxies whose
    # X-Forwarded-For and X-Forwarded-Proto are believed; nobody else's are
    trusted_proxies: list[str] = Field(default_factory=list)
    # the origin browsers use, e.g. https://dispatch.example.gov.cn: the CSRF and Origin
    # checks compare with it, and https here marks cookies Secure. Empty: this listener
    public_origin: str = ""

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError as exc:
                raise ValueError(f"{item!r} is not an IP address or network") from exc
        return value

    @field_validator("public_origin")
    @classmethod
    def _origin(cls, value: str) -> str:
        if not value:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path.strip("/"):
            raise ValueError(f"{value!r} is not an origin like https://dispatch.example.org")
        return f"{parts.scheme}://{parts.netloc.lower()}"


class MetricsConfig(_Section):
    """Who may read `/metrics` (failed logins, open alarms, the outbox): nobody unless
    one of these says so."""

    # a bearer token (Prometheus: `authorization: {credentials: ...}`); empty: none
    token: str = ""
    # addresses or networks that may scrape without the token (as the service sees the
    # client: behind a trusted proxy, the forwarded one). Never a reverse proxy's own
    # address: everything it forwards would come from there
    allow: list[str] = Field(default_factory=list)
    # a listener of its own for /metrics and /healthz, open to whoever reaches it: for a
    # private address or network. None: no such listener
    host: str = "127.0.0.1"
    port: int | None = Field(default=None, ge=0, le=65535)

    @field_validator("allow")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError as exc:
                raise ValueError(f"{item!r} is not an IP address or network") from exc
        return value


class HeartbeatConfig(_Section):
    interval_s: int = Field(default=60, gt=0)
    offline_after_missed: int = Field(default=3, ge=1)
    # a terminal that stops its heartbeats opens a device alarm (type offline)
    offline_alarms: bool = True
    # liveness writes are batched: one UPDATE per terminal per flush, not per heartbeat
    flush_interval_s: float = 2.0


class IngestConfig(_Section):
    max_batch: int = 200
    # a batch waits at most this long for more messages after its first one
    batch_window_s: float = 0.005
    # terminal events waiting to be written, in each of the listener's two queues; past
    # it a press is dropped before its ack, and its terminal repeats it (listener.py)
    queue_size: int = Field(default=5000, gt=0)
    # heartbeat and status topics waiting (two per terminal): the latest of each is kept
    liveness_topics: int = Field(default=200_000, gt=0)
    # rejected messages logged with their payload per terminal and window; the others
    # are answered and counted, and the count is logged when the window is over
    rejections_logged: int = Field(default=5, ge=1)
    rejections_window_s: int = Field(default=3600, gt=0)


class Dc09Config(_Section):
    """The SIA DC-09 receiver (docs/protocol.md): off unless a port is given."""

    host: str = "127.0.0.1"
    port: int | None = Field(default=None, ge=0, le=65535)  # TCP and UDP; 0: any free one
    # how far a message's timestamp may be behind or ahead of our clock (the standard's
    # window is 40 s behind, 20 s ahead)
    max_age_s: float = Field(default=40.0, gt=0)
    max_ahead_s: float = Field(default=20.0, gt=0)
    # a TCP connection that sends nothing for this long is closed
    idle_timeout_s: float = Field(default=300.0, gt=0)
    # how often the accounts are read again from the database (a city file loaded while
    # running); an unknown account is looked up at once, at most this often
    accounts_refresh_s: float = Field(default=30.0, gt=0)


class TwilioConfig(_Section):
    api_base: str = "https://api.twilio.com"
    account_sid: str = ""
    auth_token: str = ""
    from_number: str = ""
    # Twilio's Mandarin voice; its language code is cmn-CN (zh-CN fails the <Say>)
    voice: str = "Polly.Zhiyu"
    voice_language: str = "cmn-CN"
    voice_en: str = "Polly.Joanna"
    voice_language_en: str = "en-US"
    timeout_s: float = 10.0
    # answering machines do not count as someone taking the alarm
    machine_detection: bool = True


class AliyunConfig(_Section):
    """Alibaba Cloud's SMS and voice services (README: Phones in China)."""

    endpoint: str = "dysmsapi.aliyuncs.com"  # or http://127.0.0.1:PORT, a stand-in
    voice_endpoint: str = "dyvmsapi.aliyuncs.com"
    access_key_id: str = ""
    access_key_secret: str = ""
    sign_name: str = ""  # the registered, approved sign name
    called_show_number: str = ""  # the number calls come from (voice console)
    # code name (dispatcher templates --provider aliyun) -> the code Alibaba Cloud gave it
    templates: dict[str, str] = Field(default_factory=dict)
    callback_token: str = ""  # in the push addresses: /aliyun/{callback_token}/...
    variable_max: int = Field(default=35, ge=1)  # characters a template variable may hold
    timeout_s: float = Field(default=10.0, gt=0)


class RouteConfig(_Section):
    prefix: str = ""  # E.164 start: "+86"; "" matches every number
    provider: Literal["log", "twilio", "aliyun"]


class ThrottleConfig(_Section):
    # SMS and calls together per phone per window, the summary of held ones included
    limit: int = Field(default=5, ge=2)
    window_s: int = Field(default=300, gt=0)
    # how long held messages gather before their summary goes
    gather_s: int = Field(default=30, ge=0)


class NotificationsConfig(_Section):
    # the provider of SMS and calls where no route matches (and of all, without routes)
    provider: Literal["log", "twilio", "aliyun"] = "log"
    public_url: str = ""
    # by the number's prefix, first match wins: [{prefix: "+86", provider: aliyun}, ...]
    routes: list[RouteConfig] = Field(default_factory=list)
    # no report from a provider this long after the send: the next matching route, once
    failover_s: float = Field(default=120.0, gt=0)
    # a provider that did not answer a send in time may have sent it: its report is
    # awaited this long before the message goes again (a report means it went)
    in_doubt_s: float = Field(default=30.0, gt=0)
    aliyun: AliyunConfig = Field(default_factory=AliyunConfig)
    # relatives who were told of an emergency hear who took it and how it ended
    tell_contacts: bool = True
    twilio: TwilioConfig = Field(default_factory=TwilioConfig)
    throttle: ThrottleConfig = Field(default_factory=ThrottleConfig)
    sms_max_segments: int = Field(default=2, ge=1, le=10)
    max_attempts: int = Field(default=8, ge=1)
    # a row claimed for sending this long ago was claimed by a process that stopped
    # mid-send and has not come back: any process recovers it (longer than any send)
    claim_stale_s: int = Field(default=600, ge=60)

    def route_table(self) -> tuple[Route, ...]:
        return tuple(Route(r.prefix, r.provider) for r in self.routes)

    def providers(self) -> set[str]:
        """Every provider a message may go by: the default and the routes'."""
        return {self.provider, *(r.provider for r in self.routes)}

    @model_validator(mode="after")
    def _providers_complete(self) -> NotificationsConfig:
        """Each provider a message may go by has what it needs (the aliyun one first)."""
        a, t = self.aliyun, self.twilio
        needs: dict[str, dict[str, str]] = {
            "aliyun": {
                "aliyun.access_key_id": a.access_key_id,
                "aliyun.access_key_secret": a.access_key_secret,
                "aliyun.sign_name": a.sign_name,
                "aliyun.callback_token": a.callback_token,
            },
            "twilio": {
                "twilio.account_sid": t.account_sid,
                "twilio.auth_token": t.auth_token,
                "twilio.from_number": t.from_number,
                "public_url": self.public_url,
            },
        }
        used = self.providers()
        for provider, fields in needs.items():
            missing = [name for name, value in fields.items() if not value]
            if provider in used and missing:
                raise ValueError(f"provider {provider} needs notifications.{', '.join(missing)}")
        return self


class DashboardConfig(_Section):
    # the map's tiles: a Leaflet URL template ({z}/{x}/{y}); empty: no tiles, markers
    # over the city's extent (nothing is fetched from outside)
    map_tiles: str = ""
    map_attribution: str = ""  # the tiles' attribution, as their licence asks
    # the responder's map link ({lat}, {lon}): geo: opens the phone's own maps app
    map_link: str = "geo:{lat},{lon}?q={lat},{lon}"

    @field_validator("map_tiles")
    @classmethod
    def _template(cls, value: str) -> str:
        if value and not (
            value.startswith(("https://", "http://", "/")) and "{z}" in value and "{x}" in value
        ):
            raise ValueError("a URL template with {z}, {x} and {y}, or empty")
        return value


class CityConfig(_Section):
    timezone: str = "Asia/Shanghai"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class CheckinConfig(_Section):
    # the morning list of who has and has not checked in, by SMS to the workers on shift
    # of each community (local time; null: none)
    summary_at: str | None = "10:30"
    summary_to: Literal["duty_workers", "workers"] = "duty_workers"

    @field_validator("summary_at")
    @classmethod
    def _a_time(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            time.fromisoformat(value)
        except ValueError:
            raise ValueError(f"bad time {value!r}: use HH:MM, like 10:30") from None
        if len(value) != 5:
            raise ValueError(f"bad time {value!r}: use HH:MM, like 10:30")
        return value

    @property
    def summary_time(self) -> time | None:
        return time.fromisoformat(self.summary_at) if self.summary_at else None


class OutageConfig(_Section):
    # at least this many terminals of one community down within window_s: one outage
    min_terminals: int = Field(default=20, ge=2)
    window_s: int = Field(default=120, gt=0, le=3600)


class AlarmsConfig(_Section):
    # a resident's cancel closes an emergency only when this is true
    cancel_closes_emergency: bool = False
    # acknowledged but not resolved after this long: the supervisors are alerted
    ack_timeout_s: int = 1800


class ReportsConfig(_Section):
    # the telecare targets the reports measure against, in percent
    answer_60_pct: float = Field(default=97.5, ge=0, le=100)
    answer_180_pct: float = Field(default=99.0, ge=0, le=100)
    attend_45_pct: float = Field(default=90.0, ge=0, le=100)


class LogConfig(_Section):
    # json: one JSON object per line, for a log collector (phone numbers masked either way)
    format: Literal["text", "json"] = "text"
    level: Literal["debug", "info", "warning", "error"] = "info"


class ClockConfig(_Section):
    # demos only (simulate week): the service's time starts at `start` and runs `speed`
    # times the wall clock's pace. A city leaves both alone.
    start: datetime | None = None
    speed: float = Field(default=1.0, gt=0, le=10_000)

    @property
    def scaled(self) -> bool:
        return self.start is not None or self.speed != 1.0


# the parts of `dispatcher run`, in the order they are started
ProcessRole = Literal["ingest", "web", "engine", "notifier"]
ROLES: tuple[ProcessRole, ...] = ("ingest", "web", "engine", "notifier")


def parse_roles(value: object) -> tuple[ProcessRole, ...]:
    """`ingest,web` (the command line, the environment) or a YAML list, in ROLES' order."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        # a ValueError: pydantic reports it as a validation error, a TypeError it does not
        raise ValueError("roles: a comma list like ingest,web or a list")  # noqa: TRY004
    names = {str(item).strip() for item in items} - {""}
    unknown = sorted(names - set(ROLES))
    if unknown:
        raise ValueError(f"unknown roles {', '.join(unknown)}: choose among {', '.join(ROLES)}")
    if not names:
        raise ValueError(f"roles: at least one of {', '.join(ROLES)}")
    return tuple(r for r in ROLES if r in names)


class RunConfig(_Section):
    # what this process of `dispatcher run` serves: all four (one process, the embedded
    # default), or a share of them in a city's processes on PostgreSQL and Mosquitto
    roles: str = ",".join(ROLES)

    @field_validator("roles", mode="before")
    @classmethod
    def _known_roles(cls, value: object) -> str:
        return ",".join(parse_roles(value))

    @property
    def role_set(self) -> frozenset[ProcessRole]:
        return frozenset(parse_roles(self.roles))


def split_refused(settings: Settings, roles: frozenset[str]) -> str | None:
    """Why these roles cannot run as a share of the service with these settings, if
    they cannot: SQLite has one writer and the embedded broker lives in its process,
    so the embedded default is one process."""
    if roles >= set(ROLES):
        return None
    reasons = []
    if settings.database.url.startswith("sqlite"):
        reasons.append("SQLite (one writer, one process): set database.url to PostgreSQL")
    if settings.mqtt.is_embedded:
        reasons.append("the embedded MQTT broker (it lives in the process): set mqtt.url")
    if not reasons:
        return None
    return (
        f"roles {','.join(r for r in ROLES if r in roles)} split the service across "
        f"processes, which cannot be done with {'; nor with '.join(reasons)}; "
        "or run all roles in one process"
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DISPATCHER_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    mqtt: MqttConfig = Field(default_factory=MqttConfig)
    http: HttpConfig = Field(default_factory=HttpConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    heartbeat: HeartbeatConfig = Field(default_factory=HeartbeatConfig)
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    dc09: Dc09Config = Field(default_factory=Dc09Config)
    notifications: NotificationsConfig = Field(default_factory=NotificationsConfig)
    city: CityConfig = Field(default_factory=CityConfig)
    alarms: AlarmsConfig = Field(default_factory=AlarmsConfig)
    reports: ReportsConfig = Field(default_factory=ReportsConfig)
    log: LogConfig = Field(default_factory=LogConfig)
    checkin: CheckinConfig = Field(default_factory=CheckinConfig)
    outage: OutageConfig = Field(default_factory=OutageConfig)
    clock: ClockConfig = Field(default_factory=ClockConfig)
    escalation: EscalationPolicies = Field(default_factory=default_policies)
    run: RunConfig = Field(default_factory=RunConfig)
    dashboard: DashboardConfig = Field(default_factory=DashboardConfig)

    @model_validator(mode="after")
    def _split_needs_a_city_stack(self) -> Settings:
        refused = split_refused(self, self.run.role_set)
        if refused:
            raise ValueError(refused)
        return self

    @model_validator(mode="after")
    def _client_id_per_process(self) -> Settings:
        if not self.mqtt.client_id:
            # one id per process (two processes of a machine cannot share an HTTP port),
            # the same after a restart: the broker keeps our session and queued presses
            self.mqtt.client_id = f"dispatcher@{socket.gethostname()}:{self.http.port}"
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # the environment wins over the file, as docs/configuration.md says
        return (env_settings, init_settings)


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Read the YAML file (if any), apply environment overrides, validate once."""
    data: dict[str, Any] = {}
    file = path if path is not None else DEFAULT_CONFIG
    if path is not None or file.exists():
        loaded = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{file}: the top level must be a mapping")
        data = loaded
    data.update(overrides)
    return Settings(**data)
