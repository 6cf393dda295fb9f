"""How the dispatcher connects: the events over MQTT 5 on a real broker, MQTT 3.1.1 on
the embedded one (amqtt speaks nothing newer) and for the heartbeats; TLS for mqtts://.

Two sessions per process, so that heartbeats never queue ahead of a press, at the
broker or here: terminal events on a persistent session (the broker keeps the presses
sent while we are away), heartbeats and status on a clean one (nothing kept for us
while we are away: a missed heartbeat is replaced by the next one, and the broker sends
the retained status of every terminal again when we subscribe)."""

from __future__ import annotations

import contextlib
import socket
import ssl
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import aiomqtt
from paho.mqtt import __version__ as paho_version
from paho.mqtt.client import MQTT_ERR_SUCCESS
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from devices import protocol_v1
from dispatcher.config import MqttConfig


def _share_property_tables() -> bool:
    """paho 2.x builds the name and type tables of MQTT 5 properties anew for every
    `Properties` object: one for each PUBLISH received and for each PUBACK of our acks,
    a quarter of the CPU of event ingest (bench/README.md). The tables are only ever
    read: build them once and share them. Applied at import, to paho 2 only; True when
    applied. Tested in tests/ingest/test_mqtt_settings.py."""
    if not paho_version.startswith("2.") or getattr(Properties, "_tables_shared", False):
        return False
    template = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    types, names, properties = template.types, template.names, template.properties

    def shared_init(self: Properties, packet_type: int) -> None:
        self.packetType = packet_type
        self.types = types
        self.names = names
        self.properties = properties

    Properties.__init__ = shared_init  # type: ignore[method-assign]
    Properties._tables_shared = True  # type: ignore[attr-defined]
    return True


_share_property_tables()


def broker_address(mqtt: MqttConfig) -> tuple[str, int]:
    if mqtt.is_embedded:
        return mqtt.embedded.host, mqtt.embedded.port
    parts = urlsplit(mqtt.url)
    if parts.scheme not in {"mqtt", "tcp", "mqtts"} or not parts.hostname:
        raise ValueError(
            f"mqtt.url must look like mqtt://host:port or mqtts://host:port, not {mqtt.url!r}"
        )
    return parts.hostname, parts.port or (8883 if parts.scheme == "mqtts" else 1883)


def tls_context(mqtt: MqttConfig) -> ssl.SSLContext | None:
    """For mqtts://: the broker's certificate checked against `mqtt.ca_file` (or the
    system's CAs) and its host name."""
    if mqtt.is_embedded or urlsplit(mqtt.url).scheme != "mqtts":
        return None
    return ssl.create_default_context(cafile=mqtt.ca_file)


def liveness_client_id(mqtt: MqttConfig) -> str:
    # derived from ours: unique per process and stable, never a device id (config.py)
    return f"{mqtt.client_id}.liveness"


def connect_args(
    mqtt: MqttConfig, *, liveness: bool = False, receive_maximum: int = 400
) -> dict[str, Any]:
    """The events session (persistent), or with `liveness` the heartbeats' (clean)."""
    host, port = broker_address(mqtt)
    args: dict[str, Any] = {
        "hostname": host,
        "port": port,
        "identifier": liveness_client_id(mqtt) if liveness else mqtt.client_id,
        # amqtt keeps no offline queue for anonymous sessions: always name ourselves
        "username": mqtt.username,
        "password": mqtt.password,
        "keepalive": mqtt.keepalive_s,
        "tls_context": tls_context(mqtt),
        # an ack is one small packet: out now, not held by Nagle's algorithm until the
        # broker's delayed ACK (up to 40 ms) under a steady trickle of presses
        "socket_options": ((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),),
    }
    if mqtt.is_embedded or liveness:
        # the heartbeats' session is clean and needs nothing of MQTT 5; over MQTT 3.1.1
        # paho builds no `Properties` for each message received, which was a third of
        # the CPU of heartbeat ingest (bench/README.md). Mosquitto shares `$share/`
        # subscriptions with 3.1.1 clients too.
        args["protocol"] = aiomqtt.ProtocolVersion.V311
        args["clean_session"] = liveness
    else:
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        # without an expiry an MQTT 5 session ends at disconnect (docs/stack-notes.md)
        props.SessionExpiryInterval = mqtt.session_expiry_s
        # the broker's in-flight window towards us, which bounds what it sends ahead of
        # our PUBACKs (`puback_when_processed`). Over MQTT 5 it is ours to say (the
        # default is 65,535, and Mosquitto's max_inflight_messages is then not applied):
        # two batches, one being written while the next is received
        props.ReceiveMaximum = max(1, min(receive_maximum, 65_535))
        args["protocol"] = aiomqtt.ProtocolVersion.V5
        args["clean_start"] = False
        args["properties"] = props
    return args


def subscription_filters(mqtt: MqttConfig, kinds: tuple[str, ...]) -> list[str]:
    filters = protocol_v1.subscription_filters(mqtt.topic_prefix, kinds)
    if mqtt.shared_group and not mqtt.is_embedded:
        # several dispatchers split the terminals' messages between them
        return [f"$share/{mqtt.shared_group}/{f}" for f in filters]
    return filters


def payload_bytes(message: aiomqtt.Message) -> bytes:
    payload = message.payload
    if isinstance(payload, bytes | bytearray):
        return bytes(payload)
    if payload is None:
        return b""
    return str(payload).encode()


def puback_when_processed(client: aiomqtt.Client) -> None:
    """Answer the broker's QoS 1 deliveries ourselves (`puback`), once what they carried
    is committed, not on receipt: until then the broker keeps its copy (and sends it
    again to our persistent session after a crash), and it sends us no more than its
    in-flight window (`max_inflight_messages`) ahead of what we committed, so a burst
    waits at the broker, not in our memory. aiomqtt has no API for it yet
    (empicano/aiomqtt#345); paho's, underneath, is what its maintainers point to."""
    client._client.manual_ack_set(True)


def puback(client: aiomqtt.Client, mid: int, qos: int) -> None:
    """The broker's delivery `mid` is processed: it may forget it. In the order received
    (MQTT 3.1.1 §4.6), which the listener keeps by processing batches in order."""
    client._client.ack(mid, qos)


def publish_unconfirmed(client: aiomqtt.Client, topic: str, payload: bytes, qos: int) -> bool:
    """Hand a message to the session without waiting for the broker's PUBACK; False
    when the session cannot take it (not connected). For our acks to terminals: a lost
    one is repeated by its terminal and answered `duplicate`, so nothing waits for its
    confirmation, which in aiomqtt costs a task, a timer and a count of every pending
    call per message (a fifth of the CPU of event ingest once Properties were shared)."""
    return client._client.publish(topic, payload, qos).rc == MQTT_ERR_SUCCESS


@contextlib.asynccontextmanager
async def session(client: aiomqtt.Client) -> AsyncIterator[aiomqtt.Client]:
    """`async with client`, and afterwards read why the connection ended.

    aiomqtt keeps the reason of an unexpected disconnection in a future that only its
    message iterator reads: when the connection is lost while we wait for something
    else (a SUBACK, a PUBACK) and that wait fails, nobody reads it, and asyncio logs
    "Future exception was never retrieved ... MqttCodeError" when it is collected (seen
    at broker restarts). The caller has logged the loss already."""
    try:
        async with client:
            yield client
    finally:
        ended = client._disconnected
        if ended.done() and not ended.cancelled():
            ended.exception()
