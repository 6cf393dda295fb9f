"""The data model. One table per word of DESIGN.md §2; the event log is append-only."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from dispatcher.store.types import BigId, JsonType, UTCDateTime

# stable constraint names, so alembic batch migrations on SQLite can find them
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Community(Base):
    __tablename__ = "communities"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    street: Mapped[str] = mapped_column(String(128))
    district: Mapped[str] = mapped_column(String(128))


class Worker(Base):
    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    community_id: Mapped[str] = mapped_column(ForeignKey("communities.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    phone: Mapped[str] = mapped_column(String(32))
    # [{"days": "mon-sun", "start": "08:00", "end": "20:00"}]; small, always read whole
    shifts: Mapped[list[dict[str, str]]] = mapped_column(JsonType, default=list)


class Provider(Base):
    __tablename__ = "providers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    community_id: Mapped[str] = mapped_column(ForeignKey("communities.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    category: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(32))


class Resident(Base):
    __tablename__ = "residents"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    community_id: Mapped[str] = mapped_column(ForeignKey("communities.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    birth_year: Mapped[int | None] = mapped_column(Integer)
    address: Mapped[str] = mapped_column(String(256))
    language: Mapped[str] = mapped_column(String(16), default="zh-CN")
    medical: Mapped[str] = mapped_column(Text, default="")
    # daily check-in (DESIGN.md §7): "HH:MM-HH:MM" local, and a pause (hospital, travel)
    checkin_window: Mapped[str | None] = mapped_column(String(11))
    checkin_paused_until: Mapped[date | None] = mapped_column(Date)
    checkin_pause_reason: Mapped[str | None] = mapped_column(Text)
    # the provider category a service request goes to at once (meals, repairs, ...)
    service_default: Mapped[str | None] = mapped_column(String(64))


class Contact(Base):
    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("resident_id", "priority"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    resident_id: Mapped[str] = mapped_column(ForeignKey("residents.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    relation: Mapped[str] = mapped_column(String(64), default="")
    phone: Mapped[str] = mapped_column(String(32), index=True)
    priority: Mapped[int] = mapped_column(Integer)
    # preferred channel: voice or sms
    channel: Mapped[str | None] = mapped_column(String(16))
    language: Mapped[str | None] = mapped_column(String(16))


class Terminal(Base):
    __tablename__ = "terminals"

    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    resident_id: Mapped[str | None] = mapped_column(
        ForeignKey("residents.id"), unique=True, nullable=True
    )
    # the last status the terminal itself reported (retained online / last-will offline)
    connected: Mapped[bool] = mapped_column(Boolean, default=False)
    last_seen: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # only a terminal that has sent heartbeats can miss them (and raise an offline alarm)
    last_heartbeat: Mapped[datetime | None] = mapped_column(UTCDateTime)
    battery: Mapped[int | None] = mapped_column(Integer)
    rssi: Mapped[int | None] = mapped_column(Integer)
    power: Mapped[str | None] = mapped_column(String(16))
    fw: Mapped[str | None] = mapped_column(String(32))
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TerminalAccount(Base):
    """A terminal's MQTT account (DESIGN.md §8). The password itself is never stored: it
    is derived from a secret key and the generation (dispatcher/mqtt_accounts/)."""

    __tablename__ = "terminal_accounts"

    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer)
    # Mosquitto's `$7$` PBKDF2-SHA512 hash, as written to its password_file
    password_hash: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Alarm(Base):
    __tablename__ = "alarms"
    __table_args__ = (
        Index("ix_alarms_status_created", "status", "created_at"),
        # the engine's query: due escalations of unacknowledged alarms
        Index("ix_alarms_next_step_at", "next_step_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    device_id: Mapped[str | None] = mapped_column(String(64), index=True)
    resident_id: Mapped[str | None] = mapped_column(ForeignKey("residents.id"), index=True)
    # the community it belongs to: its resident's, or the whole community's (an outage);
    # copied at opening so reports and history need no join and survive a move
    community_id: Mapped[str | None] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # emergency, service, device, checkin
    type: Mapped[str] = mapped_column(String(32))  # the event type that opened it
    status: Mapped[str] = mapped_column(String(16), default="open")
    priority: Mapped[int] = mapped_column(Integer)  # 1 highest
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(128))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(128))
    outcome: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    # the resident pressed cancel: shown to the operator, who confirms the close
    cancel_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # escalation state (the engine's): index of the step reached, round, next due time
    escalation_started: Mapped[bool] = mapped_column(Boolean, default=False)
    step: Mapped[int] = mapped_column(Integer, default=0)
    round: Mapped[int] = mapped_column(Integer, default=0)
    next_step_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalation_exhausted: Mapped[bool] = mapped_column(Boolean, default=False)
    # when the acknowledged-but-unresolved supervisor alert fired, so it fires once
    ack_overdue_alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # someone is at the door (DESIGN.md §7): attendance time is arrived_at - created_at
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    arrived_by: Mapped[str | None] = mapped_column(String(128))
    # service requests: the provider sent, and how far it is (accepted, on_the_way, done)
    provider_id: Mapped[str | None] = mapped_column(String(64))
    service_state: Mapped[str | None] = mapped_column(String(16))


class OutageMember(Base):
    """A terminal held by an outage alarm (kind device, type outage): from when it went
    offline or lost power with its community's others, until it was back."""

    __tablename__ = "outage_members"
    __table_args__ = (Index("ix_outage_members_alarm", "alarm_id", "left_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    alarm_id: Mapped[int] = mapped_column(ForeignKey("alarms.id"))
    device_id: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(String(16))  # offline or power_lost
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EventLog(Base):
    """Append-only: every terminal event, rejection and alarm action, in order."""

    __tablename__ = "event_log"
    __table_args__ = (
        # the dedup of protocol v1: each (device_id, event_id) is logged once as accepted
        Index(
            "uq_event_log_device_event",
            "device_id",
            "event_id",
            unique=True,
            postgresql_where=text("kind = 'device_event'"),
            sqlite_where=text("kind = 'device_event'"),
        ),
        Index("ix_event_log_alarm", "alarm_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # device_event, rejected, alarm_opened, alarm_updated, ack, resolve, note, step_fired, ...
    kind: Mapped[str] = mapped_column(String(32))
    device_id: Mapped[str | None] = mapped_column(String(64))
    event_id: Mapped[str | None] = mapped_column(String(64))
    alarm_id: Mapped[int | None] = mapped_column(BigId)
    type: Mapped[str | None] = mapped_column(String(32))
    actor: Mapped[str | None] = mapped_column(String(128))
    data: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    # the raw payload of a rejected message, as received (lossless via latin-1 when not UTF-8)
    raw: Mapped[str | None] = mapped_column(Text)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # operator, supervisor, admin
    password_hash: Mapped[str] = mapped_column(String(256))
    display_name: Mapped[str | None] = mapped_column(String(128))
    phone: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    # sha256 of the bearer token: a leaked table does not leak sessions
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LoginFailure(Base):
    """Login attempts not known to have succeeded, per user at an address and per address
    (`dispatcher.rules.login_backoff`); keyed by a hash of what is counted."""

    __tablename__ = "login_failures"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Notification(Base):
    """The outbox: one message to one recipient on one channel, written in the same
    transaction as the decision that caused it, sent afterwards by the notifier."""

    __tablename__ = "notifications"
    __table_args__ = (
        # a restart, a second engine or a retried pass can never queue the same one twice;
        # and two different messages (help_coming, then alarm_closed) are never one
        UniqueConstraint(
            "alarm_id",
            "purpose",
            "round",
            "step",
            "recipient_key",
            "channel",
            "message",
            name="uq_notifications_once",
        ),
        Index("ix_notifications_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    alarm_id: Mapped[int] = mapped_column(ForeignKey("alarms.id"), index=True)
    # step (escalation), exhausted (chain ran out), ack_overdue, command (to the terminal)
    purpose: Mapped[str] = mapped_column(String(16))
    step: Mapped[int] = mapped_column(Integer)
    round: Mapped[int] = mapped_column(Integer)
    recipient_key: Mapped[str] = mapped_column(String(128))
    recipient_name: Mapped[str] = mapped_column(String(128))
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    language: Mapped[str] = mapped_column(String(16), default="zh-CN")
    channel: Mapped[str] = mapped_column(String(16))  # dashboard, sms, voice, terminal
    # which message of its purpose it is, where a purpose has several for one recipient:
    # a command's type (help_coming, alarm_closed); empty for the others
    message: Mapped[str] = mapped_column(String(32), default="", server_default="")
    body: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    # pending -> sending -> sent -> delivered | failed | permanent_failure | cancelled
    status: Mapped[str] = mapped_column(String(24), default="pending")
    # who claimed it for sending (a process's mqtt.client_id) and when: a restarted
    # process recovers its own interrupted sends, never another's in flight
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    provider_sid: Mapped[str | None] = mapped_column(String(64), index=True)
    provider_status: Mapped[str | None] = mapped_column(String(24))
    last_error: Mapped[str | None] = mapped_column(Text)


class PhoneOptOut(Base):
    """A phone that replied STOP: no SMS or call goes to it until it replies START."""

    __tablename__ = "phone_optouts"

    phone: Mapped[str] = mapped_column(String(32), primary_key=True)
    opted_out_at: Mapped[datetime] = mapped_column(UTCDateTime)
