"""PUBACKs of one connection, in the order its PUBLISHes arrived, each once its message is durable.

MQTT 3.1.1 (section 4.6) wants PUBACKs in PUBLISH order, while the router's group commits (and
messages no route takes, which need no commit) finish in their own order. A deque of waiting
acknowledgements and a done-callback per stored message keep that order without a task per message.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable


class OrderedPubAcks:
    """Acknowledge received publishes in arrival order; report the first message that was not stored.

    `acknowledge(packet_id)` sends a PUBACK; `failed(source, error)` is called at once when a message
    could not be stored (the caller closes the connection: that message is never acknowledged).
    """

    def __init__(self, acknowledge: Callable[[int | None], None], failed: Callable[[str, BaseException], None]) -> None:
        self._acknowledge = acknowledge
        self._failed = failed
        self._waiting: deque[tuple[int | None, asyncio.Future[None] | None]] = deque()
        self._closed = False

    def add(self, packet_id: int | None, stored: asyncio.Future[None] | None, source: str) -> None:
        """A publish whose message becomes durable when `stored` completes (None: nothing to wait for)."""
        self._waiting.append((packet_id, stored))
        if stored is None:
            self._release()
        else:
            stored.add_done_callback(lambda future: self._on_stored(future, source))

    def close(self) -> None:
        """The connection ended: acknowledge nothing more, report no failure."""
        self._closed = True
        self._waiting.clear()

    def _on_stored(self, stored: asyncio.Future[None], source: str) -> None:
        if self._closed:
            if not stored.cancelled():
                stored.exception()  # retrieved: the connection that waited for it is gone
            return
        error = asyncio.CancelledError() if stored.cancelled() else stored.exception()
        if error is not None:
            self.close()
            self._failed(source, error)
            return
        self._release()

    def _release(self) -> None:
        """PUBACK the publishes at the head of the line whose messages are durable."""
        waiting = self._waiting
        while waiting:
            packet_id, stored = waiting[0]
            if stored is not None and not stored.done():
                return
            waiting.popleft()
            self._acknowledge(packet_id)
