"""Delivery to one module input: a window of messages in flight, in queue order, with back-off.

The router makes one `Delivery` per endpoint of an attached module and tells it when messages
were committed (`notify`) or hands it a message directly (`offer`); the delivery reads the queue
through its host, calls the module's `deliver`, and reports what was acknowledged (`delivered`)
so that the router's next commit removes it from the store.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

from central.hub.message import Message, MessageFormatError
from central.hub.store import QueuedMessage, StoreError

log = logging.getLogger(__name__)

BACKOFF_START_S: Final = 1.0
BACKOFF_MAX_S: Final = 60.0

Deliver = Callable[[str, Message], Awaitable[None]]
"""Send a message to an input of a module; completes when the module acknowledged it (PUBACK).

Delivery is pipelined: several calls are started in queue order without waiting, so a `deliver`
must put its PUBLISH on the wire before its first `await` to keep that order."""


class DeliveryHost(Protocol):
    """What a delivery needs from the router."""

    window: int
    backoff_s: tuple[float, float]
    clock: Callable[[], float]

    async def read_queue(self, endpoint: str, after: tuple[int, int] | None, limit: int) -> list[QueuedMessage]: ...

    def queue_length(self, endpoint: str) -> int: ...

    def delivered(self, endpoint: str, messages: Sequence[QueuedMessage]) -> None: ...


@dataclass
class AckState:
    """Acknowledged messages of one endpoint on their way out of the store (kept by the router, so a
    delivery that replaces another after a reconnection does not send them again)."""

    unrecorded: set[int] = field(default_factory=set)  # acknowledged, removal not yet committed
    recently_recorded: set[int] = field(default_factory=set)  # removed, maybe after a read began

    def recorded(self, seqs: Sequence[int]) -> None:
        self.unrecorded.difference_update(seqs)
        self.recently_recorded.update(seqs)

    def skips(self, seq: int) -> bool:
        return seq in self.unrecorded or seq in self.recently_recorded


class Delivery:
    """One endpoint's delivery: up to `window` messages in flight to the module, in queue order.

    The queue is read after `cursor`, the position up to which every message was sent, so most
    messages are read once; what is in flight, or delivered but not yet removed, is skipped. A read
    fetches more than the window has room for; the rest waits in `ahead` and is sent as room frees
    up, before the next read. When a committed message outranks the cursor, or a delivery failed,
    the next read starts at the queue head: higher priority overtakes what was not sent yet (and a
    commit that sorts among the messages in `ahead` has them read again). After a failure nothing
    new is sent until the window has drained and the back-off has passed. Acknowledged messages are
    removed by the router's next commit, so delivery never waits for the disk; and an idle module is
    offered a message before it is committed (`offer`).
    """

    def __init__(self, host: DeliveryHost, endpoint: str, input_name: str, deliver: Deliver, acks: AckState) -> None:
        self.host, self.endpoint, self.input_name, self.deliver, self.acks = host, endpoint, input_name, deliver, acks
        self.inflight: dict[int, tuple[QueuedMessage, asyncio.Future[None]]] = {}
        self.cursor: tuple[int, int] | None = None
        self.ahead: deque[QueuedMessage] = deque()  # read after the cursor, not sent yet (queue order)
        self.outranked = math.inf  # the highest priority (lowest number) committed since the last read began
        self.wakeup = asyncio.Event()
        self.more = True  # the store may hold messages after the cursor (and after `ahead`)
        self.backing_off = False
        self.task: asyncio.Task[None] | None = None

    def notify(self, priority: int) -> None:
        """Messages for this endpoint were committed."""
        self.outranked = min(self.outranked, priority)
        self.more = True
        self.wakeup.set()

    def idle(self) -> bool:
        """Every queued message was sent, there is room in the window and no back-off under way."""
        unsent = self.host.queue_length(self.endpoint) - len(self.inflight) - len(self.acks.unrecorded)
        return unsent <= 0 and len(self.inflight) < self.host.window and not self.backing_off

    def offer(self, q: QueuedMessage) -> None:
        """Send a message that is being committed right now (nothing else is waiting to be sent)."""
        self._send(q)

    def _send(self, q: QueuedMessage) -> None:
        sending = asyncio.ensure_future(self.deliver(self.input_name, q.message.for_input(self.input_name)))
        sending.add_done_callback(lambda _: self.wakeup.set())
        self.inflight[q.seq] = (q, sending)

    async def run(self) -> None:
        delays = backoff_delays(*self.host.backoff_s)
        try:
            while True:
                if (self.more or self.ahead) and len(self.inflight) < self.host.window:
                    try:
                        await self._refill()
                    except (StoreError, MessageFormatError) as e:  # the queue cannot be read now
                        await self._back_off(e, next(delays))
                        continue
                await self.wakeup.wait()  # a delivery finished, or something was committed
                self.wakeup.clear()
                delivered, error = self._settle()
                if delivered:
                    delays = backoff_delays(*self.host.backoff_s)
                if error is not None:
                    await self._back_off(error, next(delays))
        finally:
            for _, sending in self.inflight.values():
                sending.cancel()
            self._settle()

    async def _refill(self) -> None:
        """Send what the queue holds after the cursor, while the window has room."""
        if self.cursor is not None and self.outranked < self.cursor[0]:
            self.cursor = None  # something committed outranks what is being sent: start at the head
            self.ahead.clear()
        if self.ahead and self.outranked < self.ahead[-1].priority:
            self.ahead.clear()  # something committed sorts among what was read ahead: read again
        if not self.ahead:
            self.outranked, self.more = math.inf, False
            limit = self.host.window + len(self.acks.unrecorded)  # in flight or unrecorded may come back
            self.acks.recently_recorded.clear()  # the read below starts after their commit
            rows = await self.host.read_queue(self.endpoint, self.cursor, limit)
            self.ahead.extend(rows)
            self.more = self.more or len(rows) == limit
        self._send_ahead()

    def _send_ahead(self) -> None:
        """Send from `ahead` while the window has room; the cursor never passes a message not sent.

        What expired since it was read is passed over, as a new read would pass over it."""
        now, window, ahead = self.host.clock(), self.host.window, self.ahead
        while ahead and len(self.inflight) < window:
            q = ahead.popleft()
            if q.seq not in self.inflight and not self.acks.skips(q.seq) and q.expires_at > now:
                self._send(q)
            self.cursor = q.key

    async def _back_off(self, error: BaseException, delay: float) -> None:
        self.backing_off = True
        if self.inflight:
            await asyncio.wait([f for _, f in self.inflight.values()])
            self._settle()
        self.cursor, self.more = None, True
        self.ahead.clear()
        log.warning("delivery to %s failed (%r); retrying in %.3g s", self.endpoint, error, delay)
        await asyncio.sleep(delay)
        self.backing_off = False

    def _settle(self) -> tuple[int, BaseException | None]:
        """Take finished deliveries out of `inflight`; hand the acknowledged ones to the router.

        Returns how many were acknowledged and the first failure, if any. What the module
        acknowledged is recorded even when this task is being cancelled (the module detached).
        """
        done = [(seq, q, f) for seq, (q, f) in self.inflight.items() if f.done()]
        for seq, _, _ in done:
            del self.inflight[seq]
        finished = [(q, f) for _, q, f in done if not f.cancelled()]
        delivered = [q for q, f in finished if f.exception() is None]
        if delivered:
            self.acks.unrecorded.update(q.seq for q in delivered)
            self.host.delivered(self.endpoint, delivered)
        return len(delivered), next((f.exception() for _, f in finished if f.exception() is not None), None)


def backoff_delays(start: float, limit: float) -> Iterator[float]:
    """Retry delays: `start`, doubling each time, never more than `limit` (1, 2, 4, ... 60, 60)."""
    delay = start
    while True:
        yield delay
        delay = min(delay * 2, limit)
