"""Which modules may connect, which are connected, and what each has subscribed to.

This is the hub's `SessionHost`: it checks a CONNECT like IoT Hub (client id `{d}/{m}`,
username `{hub}/{d}/{m}/?...`, a SAS token for that module signed with its key and not
expired, a module that is in the manifest) and keeps subscriptions in hub.db, so a
persistent session (`clean_session=0`, what the SDK uses) survives a hub restart: the
SDK does not subscribe again after reconnecting.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from central.hub import codec
from central.hub.auth import AuthError, KeyStore, resource_uri, verify_token
from central.hub.server import MqttLink
from central.hub.session import CONNACK_BAD_CREDENTIALS, CONNACK_NOT_AUTHORIZED, Identity, Refused
from central.hub.topics import Subscription


class SubscriptionStore:
    """Subscriptions per module in the `subscriptions` table of hub.db."""

    def __init__(self, db_path: Path) -> None:
        self._db = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA busy_timeout = 5000")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS subscriptions (module TEXT NOT NULL, kind TEXT NOT NULL, "
            "PRIMARY KEY (module, kind))"
        )

    def load(self, module: str) -> frozenset[Subscription]:
        rows = self._db.execute("SELECT kind FROM subscriptions WHERE module = ?", (module,))
        return frozenset(Subscription[kind] for (kind,) in rows if kind in Subscription.__members__)

    def add(self, module: str, kinds: frozenset[Subscription]) -> None:
        self._db.executemany("INSERT OR IGNORE INTO subscriptions VALUES (?, ?)", [(module, k.name) for k in kinds])

    def remove(self, module: str, kinds: frozenset[Subscription]) -> None:
        self._db.executemany(
            "DELETE FROM subscriptions WHERE module = ? AND kind = ?", [(module, k.name) for k in kinds]
        )

    def clear(self, module: str) -> None:
        self._db.execute("DELETE FROM subscriptions WHERE module = ?", (module,))

    def close(self) -> None:
        self._db.close()


class Connections:
    """The module connections of one hub, and the checks that admit them."""

    def __init__(self, keys: KeyStore, subscriptions: SubscriptionStore, device_id: str, hub_hostname: str) -> None:
        self.keys = keys
        self.subscriptions = subscriptions
        self.device_id = device_id
        self.hub_hostname = hub_hostname
        self.modules: frozenset[str] = frozenset()
        self.links: dict[str, MqttLink] = {}
        self._deliveries: dict[tuple[int, int], tuple[asyncio.Future[None], asyncio.TimerHandle]] = {}

    # ------------------------------------------------------------ SessionHost

    def authenticate(self, connect: codec.Connect) -> Identity:
        device_id, _, module_id = connect.client_id.partition("/")
        if device_id != self.device_id or not module_id:
            raise Refused(CONNACK_NOT_AUTHORIZED, f"client id must be '{self.device_id}/<module>'")
        key = self.keys.key_for(module_id)
        if module_id not in self.modules or key is None:
            raise Refused(CONNACK_NOT_AUTHORIZED, f"module {module_id!r} is not in the manifest")
        prefix = f"{self.hub_hostname}/{device_id}/{module_id}/"
        if not (connect.username or "").startswith(prefix):
            raise Refused(CONNACK_BAD_CREDENTIALS, f"username must start with {prefix!r}")
        if connect.password is None:
            raise Refused(CONNACK_BAD_CREDENTIALS, "no SAS token in the password")
        try:
            token = connect.password.decode("utf-8")
            verify_token(token, resource_uri(self.hub_hostname, device_id, module_id), key)
        except (AuthError, UnicodeDecodeError) as e:
            raise Refused(CONNACK_NOT_AUTHORIZED, str(e)) from e
        return Identity(device_id, module_id)

    def restore_subscriptions(self, identity: Identity, clean: bool) -> frozenset[Subscription]:
        if clean:
            self.subscriptions.clear(identity.module_id)
            return frozenset()
        return self.subscriptions.load(identity.module_id)

    # ------------------------------------------------------------ links

    def add(self, module: str, link: MqttLink) -> None:
        """Register a new connection; an older one for the same module is closed, as MQTT requires."""
        old = self.links.get(module)
        self.links[module] = link
        if old is not None and old is not link:
            old.close("a newer connection for the same module arrived")

    def remove(self, module: str, link: MqttLink) -> bool:
        """Forget `link` (failing its unacknowledged deliveries); False if it was already replaced."""
        for key in [k for k in self._deliveries if k[0] == id(link)]:
            future, timer = self._deliveries.pop(key)
            timer.cancel()
            if not future.done():
                future.set_exception(ConnectionError(f"module {module!r} disconnected"))
        if self.links.get(module) is link:
            del self.links[module]
            return True
        return False

    def subscribed(self, module: str, kind: Subscription) -> MqttLink | None:
        """The module's link if it is connected and subscribed to `kind`."""
        link = self.links.get(module)
        return link if link is not None and kind in link.session.subscriptions else None

    def publish_awaiting_ack(
        self, link: MqttLink, topic: str, payload: bytes, timeout_s: float
    ) -> asyncio.Future[None]:
        """QoS 1 publish; the future completes when the module's PUBACK arrives, or fails with
        TimeoutError after `timeout_s` (one timer per message, cancelled by the PUBACK)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        packet_id = link.publish(topic, payload, qos=1)
        assert packet_id is not None
        self._deliveries[(id(link), packet_id)] = (future, loop.call_later(timeout_s, _time_out, future, timeout_s))
        return future

    def delivered(self, link: MqttLink, packet_id: int) -> None:
        entry = self._deliveries.pop((id(link), packet_id), None)
        if entry is not None:
            future, timer = entry
            timer.cancel()
            if not future.done():
                future.set_result(None)


def _time_out(future: asyncio.Future[None], timeout_s: float) -> None:
    if not future.done():
        future.set_exception(TimeoutError(f"no PUBACK within {timeout_s:g} s"))
