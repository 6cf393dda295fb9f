"""The data model. One table per word of docs/words.md; the event log is append-only."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    Float,
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


# a window without its deadline: new, or changed (the engine gives it its first one)
CHECKIN_UNSET_SQL = "checkin_window IS NOT NULL AND checkin_due_at IS NULL"


class Resident(Base):
    __tablename__ = "residents"
    __table_args__ = (
        # the engine asks at each look at terminals for windows without a deadline:
        # almost always none, which without this index it learnt by reading every
        # resident (26 ms in a city of 100,000, 2.5 times a second while busy)
        Index(
            "ix_residents_checkin_unset",
            "id",
            postgresql_where=text(CHECKIN_UNSET_SQL),
            sqlite_where=text(CHECKIN_UNSET_SQL),
        ),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    community_id: Mapped[str] = mapped_column(ForeignKey("communities.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    birth_year: Mapped[int | None] = mapped_column(Integer)
    address: Mapped[str] = mapped_column(String(256))
    language: Mapped[str] = mapped_column(String(16), default="zh-CN")
    medical: Mapped[str] = mapped_column(Text, default="")
    # the resident's own phone, for a provider to call before coming (optional)
    phone: Mapped[str | None] = mapped_column(String(32))
    # daily check-in (docs/daily-care.md): "HH:MM-HH:MM" local, and a pause (hospital, travel)
    checkin_window: Mapped[str | None] = mapped_column(String(11))
    checkin_paused_until: Mapped[date | None] = mapped_column(Date)
    checkin_pause_reason: Mapped[str | None] = mapped_column(Text)
    # the provider category a service request goes to at once (meals, repairs, ...)
    service_default: Mapped[str | None] = mapped_column(String(64))
    # when the engine next decides whether the check-in was missed: the end of the next
    # window (UTC); None without a window
    checkin_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # the resident's last press that counts as a sign of life (docs/daily-care.md)
    last_press_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # where the home is (WGS84, from the city file): the map, and the responder's map link
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)


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
    # the terminal reported power_lost and not power_restored since: it runs on battery
    power_lost_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # how it reaches us (docs/protocol.md): `mqtt` (protocol v1) or `dc09` (SIA DC-09, with
    # its account, upper-case hex, and its AES key as hex when it encrypts)
    protocol: Mapped[str] = mapped_column(String(8), default="mqtt", server_default="mqtt")
    dc09_account: Mapped[str | None] = mapped_column(String(16), unique=True)
    dc09_key: Mapped[str | None] = mapped_column(String(64))


class TerminalAccount(Base):
    """A terminal's MQTT account (docs/protocol.md). The password itself is never stored: it
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
        # the history, newest first, paged by (created_at, id); the reports' day ranges
        Index("ix_alarms_created_id", "created_at", "id"),
        # the engine's query: due escalations of unacknowledged alarms
        Index("ix_alarms_next_step_at", "next_step_at"),
        # one open outage per community, one open missed check-in per resident, whatever
        # two engines decide at once
        Index(
            "uq_alarms_open_outage",
            "community_id",
            unique=True,
            postgresql_where=text("type = 'outage' AND status <> 'resolved'"),
            sqlite_where=text("type = 'outage' AND status <> 'resolved'"),
        ),
        Index(
            "uq_alarms_open_missed_checkin",
            "resident_id",
            unique=True,
            postgresql_where=text("type = 'missed_checkin' AND status <> 'resolved'"),
            sqlite_where=text("type = 'missed_checkin' AND status <> 'resolved'"),
        ),
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
    # when the trouble began, where that was before the alarm (a terminal down since
    # then, raised once the outage window showed it was alone): offline time counts from it
    since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # someone is at the door (docs/daily-care.md): attendance time is arrived_at - created_at
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    arrived_by: Mapped[str | None] = mapped_column(String(128))
    # service requests: the provider sent, and how far it is (accepted, on_the_way, done)
    provider_id: Mapped[str | None] = mapped_column(String(64))
    service_state: Mapped[str | None] = mapped_column(String(16))


class OutageMember(Base):
    """A terminal held by an outage alarm (kind device, type outage): from when it went
    offline or lost power with its community's others (`joined_at`: when it went down,
    not when the engine noticed), until it was back."""

    __tablename__ = "outage_members"
    __table_args__ = (
        Index("ix_outage_members_alarm", "alarm_id", "left_at"),
        # a terminal is held by one outage at a time
        Index(
            "uq_outage_members_held",
            "device_id",
            unique=True,
            postgresql_where=text("left_at IS NULL"),
            sqlite_where=text("left_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    alarm_id: Mapped[int] = mapped_column(ForeignKey("alarms.id"))
    device_id: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(String(16))  # offline or power_lost
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# what a terminal sent that was accepted: the event log's lines ingest looks repeats
# up among (an event of protocol v1, a DC-09 report)
ACCEPTED_KINDS_SQL = "kind IN ('device_event', 'device_report')"


class EventLog(Base):
    """Append-only: every terminal event, rejection and alarm action, in order."""

    __tablename__ = "event_log"
    __table_args__ = (
        # the dedup of protocol v1 and DC-09: each (device_id, event_id) is logged once
        # as accepted; ingest's lookup has this very condition, so that it can use it
        Index(
            "uq_event_log_device_event",
            "device_id",
            "event_id",
            unique=True,
            postgresql_where=text(ACCEPTED_KINDS_SQL),
            sqlite_where=text(ACCEPTED_KINDS_SQL),
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


class AuditEntry(Base):
    """Append-only (the database refuses UPDATE and DELETE, see migration 0060): who
    read or changed a resident's record, or took data out, when and from where."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_resident", "resident_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(64))  # the username
    role: Mapped[str] = mapped_column(String(16))
    # view_resident, view_alarm, edit_resident, edit_workers, edit_checkin, export_alarms
    action: Mapped[str] = mapped_column(String(32))
    resident_id: Mapped[str | None] = mapped_column(String(64))
    alarm_id: Mapped[int | None] = mapped_column(BigId)
    community_id: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(64))  # the client's, as the server saw it
    # what was read or changed: the fields changed, the filters of an export (never values)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JsonType)


class ResponderLink(Base):
    """The link in an SMS that asks someone to act (docs/api.md): it opens the
    responder's page of one notification (one recipient, one alarm). Only the token's
    SHA-256 is kept, so the table gives no working link away."""

    __tablename__ = "responder_links"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    notification_id: Mapped[int] = mapped_column(BigId, index=True)
    alarm_id: Mapped[int] = mapped_column(BigId, index=True)
    recipient_key: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # wallboard, operator, supervisor, admin
    # the part of the city the user sees: `district:NAME`, `street:NAME`, `community:ID`
    # (dispatcher.rules.scopes); None: the whole city
    scope: Mapped[str | None] = mapped_column(String(160))
    password_hash: Mapped[str] = mapped_column(String(256))
    display_name: Mapped[str | None] = mapped_column(String(128))
    phone: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # set: the user cannot log in, and every token of theirs has ended (docs/api.md)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


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


# a message waiting for its send (rules.notifications.Status.PENDING), as the claim and
# its index both say it
NOTIFICATION_PENDING_SQL = "status = 'pending'"


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
        # the notifier's claim, the oldest pending first: without it PostgreSQL walked
        # the primary key past every message ever sent (67 ms at 100,000 sent, growing
        # with each day of a city), or sorted every pending one (a burst's 30,000)
        Index(
            "ix_notifications_pending",
            "id",
            postgresql_where=text(NOTIFICATION_PENDING_SQL),
            sqlite_where=text(NOTIFICATION_PENDING_SQL),
        ),
        # the same for messages about no alarm (a morning summary, an opt-out): the
        # key above cannot, as NULL alarm ids never conflict
        Index(
            "uq_notifications_once_about",
            "subject",
            "purpose",
            "recipient_key",
            "channel",
            unique=True,
            postgresql_where=text("alarm_id IS NULL"),
            sqlite_where=text("alarm_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # None for a message about no single alarm; then `subject` says what it is about
    alarm_id: Mapped[int | None] = mapped_column(ForeignKey("alarms.id"), index=True)
    subject: Mapped[str | None] = mapped_column(String(128))
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
    # when a send's outcome became unknown (its provider did not answer in time): back to
    # pending until `notifications.in_doubt_s` later, and a report of the provider meanwhile
    # means it went (`phones.replies.record_status`); cleared by any later handover
    doubted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # "aliyun>twilio" once its provider failed and it went by the next route (only once)
    failover: Mapped[str | None] = mapped_column(String(40))


class InboundSms(Base):
    """Every SMS that reached our number, once: Twilio may post a webhook again (a
    timeout on its side), and a replayed MessageSid must not act twice."""

    __tablename__ = "inbound_sms"

    message_sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    phone: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LoginTrust(Base):
    """What lets a user's correct password through limits an attacker could fill
    (`dispatcher.rules.login_backoff`): a device token given at a successful login
    (`kind` device, keyed by the token's hash), and the addresses the user logged in
    from (`kind` address, keyed by a hash of user and address)."""

    __tablename__ = "login_trust"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ProviderReply(Base):
    """A provider's callback that acted (a key pressed in a call), once per the provider's
    own ids: a signed callback replayed, by the provider retrying or by whoever copied
    it, finds its key here and acts no more."""

    __tablename__ = "provider_replies"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ProviderPush(Base):
    """Every report or reply a provider pushed (Alibaba Cloud), once: its pushes are
    retried and carry no id of their own, so the key is made of what they say."""

    __tablename__ = "provider_pushes"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DailyJob(Base):
    """A job done once per local day for the whole city (the morning check-in
    summaries): the row is the claim, so two engines never both do it."""

    __tablename__ = "daily_jobs"

    job: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    done_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PhoneOptOut(Base):
    """A phone that replied STOP (or CANCEL, a word Twilio takes for it): no SMS goes to
    it until it replies START. Calls still do: an SMS opt-out is not a refusal to be
    called for an emergency, and Twilio blocks only the SMS."""

    __tablename__ = "phone_optouts"

    phone: Mapped[str] = mapped_column(String(32), primary_key=True)
    opted_out_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Call(Base):
    """A call an operator asked for from the alarm view (docs/api.md): the provider
    rings the operator's own phone, then connects the other party. The provider's ids of
    both legs are kept, so that a status report told twice adds nothing the second time
    (`dispatcher.rules.calls`)."""

    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    alarm_id: Mapped[int] = mapped_column(ForeignKey("alarms.id"), index=True)
    operator: Mapped[str] = mapped_column(String(64))  # the username
    operator_phone: Mapped[str] = mapped_column(String(32))
    # whom: resident, contact:N, worker:ID, provider:ID
    target: Mapped[str] = mapped_column(String(80))
    target_name: Mapped[str] = mapped_column(String(128))
    target_phone: Mapped[str] = mapped_column(String(32))
    # the operator's dashboard language, for what the operator hears before the connection
    language: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str] = mapped_column(String(16))  # twilio, log (aliyun later)
    # placing -> placed -> operator_answered -> connected -> ended; or failed
    status: Mapped[str] = mapped_column(String(24))
    operator_sid: Mapped[str | None] = mapped_column(String(64))
    party_sid: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    operator_answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    party_answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the other party's talk time, as the provider measured it
    duration_s: Mapped[int | None] = mapped_column(Integer)
    # how it ended: completed, busy, no-answer, failed, canceled, not_connected
    outcome: Mapped[str | None] = mapped_column(String(24))
    error: Mapped[str | None] = mapped_column(Text)
