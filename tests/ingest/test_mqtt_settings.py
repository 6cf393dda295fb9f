"""How the dispatcher names itself to the broker and reaches it (docs/configuration.md,
docs/protocol.md)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from paho.mqtt.exception import MQTTException
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from pydantic import ValidationError

from dispatcher.config import Settings
from dispatcher.mqtt.connect import broker_address, connect_args
from harness.certs import make_certificates


def _mqtt(**mqtt: object) -> Settings:
    return Settings.model_validate({"mqtt": mqtt, "http": {"port": 8081}})


def test_each_process_gets_a_client_id_of_its_own_that_no_terminal_can_claim() -> None:
    # stable across restarts, different for two processes of a machine (their HTTP ports)
    assert _mqtt().mqtt.client_id == f"dispatcher@{socket.gethostname()}:8081"
    assert _mqtt(client_id="dispatcher.2").mqtt.client_id == "dispatcher.2"
    for claimable in ("dispatcher", "T-0001", "dispatcher-2"):  # all could be device ids
        with pytest.raises(ValidationError, match="could be a terminal's device id"):
            _mqtt(client_id=claimable)
    with pytest.raises(ValidationError, match="username"):
        _mqtt(username="dis:patcher")


def test_mqtts_means_tls_with_the_configured_ca(tmp_path: Path) -> None:
    certs = make_certificates(tmp_path)
    plain = _mqtt(url="mqtt://broker.example").mqtt
    assert broker_address(plain) == ("broker.example", 1883)
    assert connect_args(plain)["tls_context"] is None
    tls = _mqtt(url="mqtts://broker.example", ca_file=str(certs.ca)).mqtt
    assert broker_address(tls) == ("broker.example", 8883)
    context = connect_args(tls)["tls_context"]
    assert context is not None
    assert context.check_hostname
    assert [dict(c["subject"][0])["commonName"] for c in context.get_ca_certs()] == [
        "dispatcher test CA"
    ]
    with pytest.raises(ValueError, match="mqtts://host:port"):
        broker_address(_mqtt(url="http://broker.example").mqtt)
    with pytest.raises(ValidationError, match="tls_port needs certfile and keyfile"):
        _mqtt(embedded={"tls_port": 8884})


def test_mqtt5_properties_share_their_tables_and_still_pack_and_read_back() -> None:
    # dispatcher.mqtt.connect, imported above, shared the tables at its import
    make: Any = Properties
    first, second = make(PacketTypes.PUBLISH), make(PacketTypes.CONNECT)
    assert first.names is second.names
    assert first.properties is second.properties
    # each object keeps its own values and packet type
    second.SessionExpiryInterval = 600
    second.ReceiveMaximum = 400
    first.UserProperty = ("k", "v")
    assert not hasattr(first, "ReceiveMaximum")
    read = make(PacketTypes.CONNECT)
    read.unpack(second.pack())
    assert (read.SessionExpiryInterval, read.ReceiveMaximum) == (600, 400)
    # a property of another packet type is still refused
    with pytest.raises(MQTTException, match="does not apply"):
        first.SessionExpiryInterval = 1
