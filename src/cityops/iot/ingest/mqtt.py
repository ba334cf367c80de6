"""The MQTT consumer: a shared QoS 1 subscription, acked only after the batch commits.

paho-mqtt runs the network loop in its own thread; messages cross into the event loop through
a deque, are checked against the registry snapshot and queued for the writer. The PUBACK goes
out after the commit (manual ack), and the session persists (clean start off, a session expiry),
so a consumer killed or a broker restarted gets every unacked message again; the table's key
(device, key, ts) stores a redelivery once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from cityops.iot.ingest.accept import mqtt_message
from cityops.iot.ingest.writer import BatchWriter, Job
from cityops.iot.registry.directory import RegistryCache
from cityops.iot.settings import IotSettings
from cityops.kit.db import utcnow

log = logging.getLogger(__name__)


def subscription(settings: IotSettings) -> str:
    """The shared subscription every consumer of a deployment joins."""
    topics = f"{settings.mqtt_topic_prefix}/+/+/+"
    if not settings.mqtt_share_group:
        return topics  # one consumer only (a broker that loses shared subscriptions on restart)
    return f"$share/{settings.mqtt_share_group}/{topics}"


def broker_address(url: str) -> tuple[str, int]:
    """Host and port of an mqtt://host:port URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
        raise ValueError(f"{url!r} is not mqtt://host:port")
    return parts.hostname, parts.port or 1883


class MqttConsumer:
    """Consumes telemetry and gateway topics into the writer."""

    def __init__(self, settings: IotSettings, cache: RegistryCache, writer: BatchWriter) -> None:
        self._settings = settings
        self._cache = cache
        self._writer = writer
        self._inbox: deque[tuple[str, bytes, int]] = deque()
        self._pending = threading.BoundedSemaphore(settings.mqtt_max_pending)
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = threading.Event()
        self.connected = threading.Event()
        self.received = 0
        self._client = self._make_client()

    def _make_client(self) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self._settings.mqtt_client_id,
            protocol=mqtt.MQTTv5,
        )
        client.manual_ack_set(True)
        client.reconnect_delay_set(1, 5)
        client.max_inflight_messages_set(1000)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        return client

    async def start(self) -> None:
        """Connect (retrying in the background) and start handing messages to the writer."""
        self._loop = asyncio.get_running_loop()
        self._task = self._loop.create_task(self._run())
        host, port = broker_address(self._settings.mqtt_url or "")
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = self._settings.mqtt_session_expiry_seconds
        props.ReceiveMaximum = min(65535, self._settings.mqtt_max_pending)
        self._client.connect_async(host, port, keepalive=30, clean_start=False, properties=props)
        self._client.loop_start()

    async def stop(self) -> None:
        """Disconnect; messages not yet acked stay with the broker's session."""
        self._stopping.set()
        self._client.disconnect()
        self._client.loop_stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    # --- the paho thread ---------------------------------------------------------------------

    def _on_connect(
        self, client: mqtt.Client, _u: object, _f: object, rc: object, _p: object
    ) -> None:
        if getattr(rc, "is_failure", False):
            log.warning("mqtt connect refused: %s", rc)
            return
        client.subscribe(subscription(self._settings), qos=1)
        log.info("mqtt consumer %s connected", self._settings.mqtt_client_id)

    def _on_subscribe(self, *_args: object) -> None:
        self.connected.set()
        log.info("mqtt consumer %s subscribed", self._settings.mqtt_client_id)

    def _on_disconnect(self, *_args: object) -> None:
        self.connected.clear()
        if not self._stopping.is_set():
            log.warning("mqtt consumer disconnected; paho reconnects")

    def _on_message(self, _c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        # Block the network thread when too much is unacked: the broker then holds the rest.
        while not self._pending.acquire(timeout=1.0):
            if self._stopping.is_set():
                return
        self._inbox.append((message.topic, bytes(message.payload), message.mid))
        self.received += 1
        if not self._wake.is_set() and self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    # --- the event loop ------------------------------------------------------------------------

    def _ack(self, mid: int) -> None:
        if mid:  # QoS 0 messages carry no id and need no ack
            self._client.ack(mid, 1)
        self._pending.release()

    async def _run(self) -> None:
        prefix = self._settings.mqtt_topic_prefix
        while True:
            # The short timeout covers a wake-up lost between the two threads.
            try:
                await asyncio.wait_for(self._wake.wait(), 0.05)
            except TimeoutError:
                if not self._inbox:
                    continue
            self._wake.clear()
            snap = await self._cache.current()
            now = utcnow()
            while self._inbox:
                topic, payload, mid = self._inbox.popleft()
                outcome = mqtt_message(snap, prefix, topic, payload, now)
                done = _AckLater(self, mid)
                await self._writer.submit(Job(outcome.readings, outcome.dead, done=done))


class _AckLater:
    """The ack of one message, called by the writer after the commit."""

    __slots__ = ("consumer", "mid")

    def __init__(self, consumer: MqttConsumer, mid: int) -> None:
        self.consumer = consumer
        self.mid = mid

    def __call__(self) -> None:
        self.consumer._ack(self.mid)
