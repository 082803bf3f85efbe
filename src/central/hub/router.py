"""The router of the local edgeHub: accept (durably), queue per endpoint, deliver, expire, count.

- `accept` returns once the message is committed; messages that arrive while a commit is running
  wait for the next one, so one transaction (and one fsync) serves many messages: group commit.
  The protocol head sends PUBACK only after `accept` returns. A message no route takes is dropped,
  as edgeHub drops it.
- Each endpoint (`/modules/{m}/inputs/{i}`) of an attached module has one delivery task. It keeps
  a window of messages in flight to the module's `deliver`, in queue order (highest priority
  first, order kept within a priority), and acks in the store what the module acknowledged. While
  the module stays attached but delivery fails, it retries with exponential back-off, 1 s to 60 s.
- `$upstream` messages go to the store's upstream log when they are committed.
- Every task belongs to one TaskGroup that `stop` ends; store writes run on one worker thread,
  reads on another.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from typing import Final, ParamSpec, TypeVar

from central.hub.message import Message, MessageFormatError
from central.hub.metrics import MetricsRegistry
from central.hub.store import MessageStore, QueuedMessage, StoreError
from central.routing import UPSTREAM_ENDPOINT, Match, ModuleInput, RouteTable, parse_endpoint

log = logging.getLogger(__name__)

BACKOFF_START_S: Final = 1.0
BACKOFF_MAX_S: Final = 60.0
UNROUTED: Final = "(no route)"

Deliver = Callable[[str, Message], Awaitable[None]]
"""Send a message to an input of a module; completes when the module acknowledged it (PUBACK).

Delivery is pipelined: the router starts several calls in queue order without waiting, so a
`deliver` must put its PUBLISH on the wire before its first `await` to keep that order."""

P = ParamSpec("P")
T = TypeVar("T")


class RouterClosedError(RuntimeError):
    """The router stopped before the message was stored: the protocol head must not PUBACK it."""


class Router:
    def __init__(
        self,
        store: MessageStore,
        routes: RouteTable,
        *,
        window: int = 32,
        expiry_interval_s: float = 1.0,
        backoff_s: tuple[float, float] = (BACKOFF_START_S, BACKOFF_MAX_S),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.routes = routes
        self.window = window
        self.backoff_s = backoff_s
        self.expiry_interval_s = expiry_interval_s
        self.clock = clock
        self._pending: list[tuple[Message, list[Match], asyncio.Future[None]]] = []
        self._pending_acks: list[tuple[_Delivery, list[int]]] = []
        self._unrecorded: dict[str, set[int]] = {}
        self._pending_event = asyncio.Event()
        self._closing = False
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="message-store")
        self._read_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="message-store-read")
        self._modules: dict[str, Deliver] = {}
        self._deliveries: dict[str, _Delivery] = {}
        self._depth: Counter[str] = Counter()
        self._group: asyncio.TaskGroup | None = None
        self._runner: asyncio.Task[None] | None = None
        self._commits: asyncio.Task[None] | None = None
        self._started = asyncio.Event()
        self.metrics = MetricsRegistry()
        self._in = self.metrics.counter("edgehub_messages_in_total", "Messages a route accepted.", "route")
        self._out = self.metrics.counter(
            "edgehub_messages_out_total", "Messages delivered to an endpoint.", "route", "endpoint"
        )
        self._dropped = self.metrics.counter("edgehub_messages_dropped_total", "Messages no route took.", "route")
        self._expired = self.metrics.counter(
            "edgehub_messages_expired_total", "Messages dropped at the end of their TTL.", "route", "endpoint"
        )
        self.metrics.gauge(
            "edgehub_queue_length", "Messages waiting per endpoint.", "endpoint", collect=self._queue_lengths
        )
        self._commit_count = self.metrics.counter(
            "edgehub_store_commits_total", "Store transactions that made accepted messages durable."
        )

    # life cycle
    async def start(self) -> None:
        self._depth.update(await self._read(self.store.depths))
        self._runner = asyncio.create_task(self._run(), name="router")
        self._runner.add_done_callback(_log_crash)
        await self._started.wait()

    async def stop(self) -> None:
        """End deliveries, commit what was accepted and delivered, then end every task and thread."""
        self._closing = True
        deliveries = [d.task for d in self._deliveries.values() if d.task is not None]
        self._deliveries.clear()
        for task in deliveries:
            task.cancel()
        if deliveries:
            await asyncio.wait(deliveries)
        self._pending_event.set()
        if self._commits is not None:
            with suppress(asyncio.CancelledError):
                await self._commits
        if self._runner is not None:
            self._runner.cancel()
            with suppress(asyncio.CancelledError):
                await self._runner
        self._executor.shutdown(wait=True)
        self._read_executor.shutdown(wait=True)

    async def _run(self) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                self._group = group
                self._commits = group.create_task(self._commit_loop(), name="router-commit")
                group.create_task(self._expiry_loop(), name="router-expiry")
                for module in self._modules:
                    self._start_deliveries(module)
                self._started.set()
        finally:
            self._group = None
            self._deliveries.clear()
            self._fail_pending(RouterClosedError("router stopped"))

    # accepting
    async def accept(self, message: Message) -> None:
        """Route `message` and return once it is durable (or raise: then it must not be acknowledged)."""
        matches = self.routes.match(message)
        if not matches:
            self._dropped.inc(UNROUTED)
            return
        if self._closing:
            raise RouterClosedError("router is stopping")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((message, matches, future))
        self._pending_event.set()
        await future

    async def _commit_loop(self) -> None:
        while not (self._closing and not self._pending and not self._pending_acks):
            await self._pending_event.wait()
            self._pending_event.clear()
            batch, self._pending = self._pending, []
            acks, self._pending_acks = self._pending_acks, []
            if batch or acks:
                await self._commit(batch, acks)

    async def _commit(
        self, batch: list[tuple[Message, list[Match], asyncio.Future[None]]], acks: list[tuple[_Delivery, list[int]]]
    ) -> None:
        """One transaction for accepted messages and delivery acks; then wake the deliveries."""
        by_endpoint: dict[str, list[int]] = {}
        for delivery, seqs in acks:
            by_endpoint.setdefault(delivery.endpoint, []).extend(seqs)
        try:
            removed = await self._call(self.store.append, [(m, matches) for m, matches, _ in batch], by_endpoint)
        except BaseException as e:  # every sender hears of it, and nothing is acknowledged
            failure = e if isinstance(e, Exception) else RouterClosedError("router stopped")
            for *_, future in batch:
                if not future.done():
                    future.set_exception(failure)
            if not isinstance(e, StoreError):
                raise
            log.error("could not store %d messages and %d acks: %s", len(batch), len(acks), e)
            self._pending_acks[:0] = acks  # deliveries are recorded with the next commit
            return
        for endpoint, count in removed.items():
            self._depth[endpoint] -= count
        for delivery, seqs in acks:
            delivery.recorded(seqs)
        if batch:
            self._commit_count.inc()
        touched: dict[str, int] = {}  # endpoint: highest priority (lowest number) committed
        for _, matches, future in batch:
            if not future.done():  # the sender may have gone; the message is stored all the same
                future.set_result(None)
            for match in matches:
                self._in.inc(match.route)
                if match.endpoint == UPSTREAM_ENDPOINT:
                    self._out.inc(match.route, UPSTREAM_ENDPOINT)
                else:
                    self._depth[match.endpoint] += 1
                    touched[match.endpoint] = min(match.priority, touched.get(match.endpoint, match.priority))
        for endpoint, priority in touched.items():
            self._wake(endpoint, priority)

    def _fail_pending(self, error: Exception) -> None:
        batch, self._pending = self._pending, []
        for *_, future in batch:
            if not future.done():
                future.set_exception(error)

    # delivering
    def attach(self, module: str, deliver: Deliver) -> None:
        """`module` subscribed to its inputs: deliver its queued and future messages with `deliver`."""
        self.detach(module)
        self._modules[module] = deliver
        self._start_deliveries(module)

    def detach(self, module: str) -> None:
        """`module` went away: stop delivering; what it did not acknowledge stays queued."""
        self._modules.pop(module, None)
        for endpoint in [e for e in self._deliveries if _module_of(e) == module]:
            self._deliveries.pop(endpoint).task.cancel()

    def update(self, routes: RouteTable) -> None:
        """Route with a new table from now on; queued messages keep their endpoints."""
        self.routes = routes
        for module in self._modules:
            self._start_deliveries(module)

    def _start_deliveries(self, module: str) -> None:
        if self._group is None:
            return  # start() does it
        known = self.routes.endpoints() | {e for e, n in self._depth.items() if n > 0}
        for endpoint in known:
            if _module_of(endpoint) == module:
                self._start_delivery(endpoint)

    def _start_delivery(self, endpoint: str) -> None:
        module = _module_of(endpoint)
        deliver = self._modules.get(module) if module else None
        if deliver is None or self._group is None or endpoint in self._deliveries:
            return
        sink = parse_endpoint(endpoint)
        assert isinstance(sink, ModuleInput)
        delivery = _Delivery(self, endpoint, sink.input, deliver)
        delivery.task = self._group.create_task(delivery.run(), name=f"deliver {endpoint}")
        self._deliveries[endpoint] = delivery

    def _wake(self, endpoint: str, priority: int) -> None:
        self._start_delivery(endpoint)
        delivery = self._deliveries.get(endpoint)
        if delivery is not None:
            delivery.notify(priority)

    def _delivered(self, delivery: _Delivery, delivered: Sequence[QueuedMessage]) -> None:
        """Count what a module acknowledged, and have it removed from the queue at the next commit."""
        for q in delivered:
            self._out.inc(q.route, delivery.endpoint)
        self._pending_acks.append((delivery, [q.seq for q in delivered]))
        self._pending_event.set()

    # expiry and reading
    async def _expiry_loop(self) -> None:
        while True:
            await asyncio.sleep(self.expiry_interval_s)
            try:
                expired = await self._call(self.store.purge_expired, self.clock())
            except StoreError as e:
                log.error("could not purge expired messages: %s", e)
                continue
            for (route, endpoint), count in expired.items():
                self._expired.inc(route, endpoint, amount=count)
                self._depth[endpoint] -= count
                log.info("%d messages of route %s to %s expired", count, route, endpoint)

    def upstream(self, after: int = 0, limit: int = 100) -> list[tuple[int, Message]]:
        """The local upstream log ($upstream sink), oldest first, after sequence number `after`."""
        return self.store.upstream(after, limit)

    def queue_lengths(self) -> dict[str, int]:
        return {endpoint: n for endpoint, n in self._depth.items() if n > 0}

    def _queue_lengths(self) -> dict[tuple[str, ...], float]:
        return {(endpoint,): float(n) for endpoint, n in self._depth.items()}

    def metrics_text(self) -> str:
        """Prometheus text: messages in/out/dropped/expired per route, queue length per endpoint."""
        return self.metrics.render()

    async def _call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a store write on the writer thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    async def _read(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a store read on the reader thread (it never waits for a commit)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._read_executor, functools.partial(fn, *args, **kwargs))


class _Delivery:
    """One endpoint's delivery: up to `window` messages in flight to the module, in queue order.

    New messages are read after the last one sent (`cursor`), so each is decoded once. When a
    committed message outranks those being sent, or a delivery failed, the next read starts at the
    queue head instead, skipping what is in flight or delivered but not yet recorded: higher
    priority overtakes what was not sent yet. After a failure nothing new is sent until the window
    has drained and the back-off has passed. Acknowledged messages are removed from the queue by
    the router's next commit, so delivery never waits for the disk.
    """

    def __init__(self, router: Router, endpoint: str, input_name: str, deliver: Deliver) -> None:
        self.router, self.endpoint, self.input_name, self.deliver = router, endpoint, input_name, deliver
        self.inflight: dict[int, tuple[QueuedMessage, asyncio.Future[None]]] = {}
        # acknowledged by the module, not yet removed from the store; shared with a later delivery
        self.unrecorded = router._unrecorded.setdefault(endpoint, set())
        self.cursor: tuple[int, int] | None = None
        self.wakeup = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def notify(self, priority: int) -> None:
        if self.cursor is not None and priority < self.cursor[0]:
            self.cursor = None
        self.wakeup.set()

    def recorded(self, seqs: Sequence[int]) -> None:
        self.unrecorded.difference_update(seqs)

    async def run(self) -> None:
        delays = backoff_delays(*self.router.backoff_s)
        try:
            while True:
                self.wakeup.clear()
                room = self.router.window - len(self.inflight)
                try:
                    if room > 0:
                        await self._refill(room)
                except (StoreError, MessageFormatError) as e:  # the queue cannot be read now
                    await self._back_off(e, next(delays))
                    continue
                await _first_of([f for _, f in self.inflight.values()], self.wakeup if room > 0 else None)
                delivered, error = self._settle()
                if delivered:
                    delays = backoff_delays(*self.router.backoff_s)
                if error is not None:
                    await self._back_off(error, next(delays))
        finally:
            for _, sending in self.inflight.values():
                sending.cancel()
            self._settle()

    async def _refill(self, room: int) -> None:
        router, after = self.router, self.cursor
        limit = room if after is not None else router.window + len(self.unrecorded)
        rows = await router._read(router.store.read, self.endpoint, after, limit=limit, now=router.clock())
        for q in rows:
            fresh = q.seq not in self.inflight and q.seq not in self.unrecorded
            if fresh and len(self.inflight) < router.window:
                sending = asyncio.ensure_future(self.deliver(self.input_name, q.message.for_input(self.input_name)))
                self.inflight[q.seq] = (q, sending)
        if self.inflight:
            self.cursor = max(q.key for q, _ in self.inflight.values())

    async def _back_off(self, error: BaseException, delay: float) -> None:
        if self.inflight:
            await asyncio.wait([f for _, f in self.inflight.values()])
            self._settle()
        self.cursor = None
        log.warning("delivery to %s failed (%r); retrying in %.3g s", self.endpoint, error, delay)
        await asyncio.sleep(delay)

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
            self.unrecorded.update(q.seq for q in delivered)
            self.router._delivered(self, delivered)
        return len(delivered), next((f.exception() for _, f in finished if f.exception() is not None), None)


def backoff_delays(start: float, limit: float) -> Iterator[float]:
    """Retry delays: `start`, doubling each time, never more than `limit` (1, 2, 4, ... 60, 60)."""
    delay = start
    while True:
        yield delay
        delay = min(delay * 2, limit)


async def _first_of(futures: list[asyncio.Future[None]], event: asyncio.Event | None) -> None:
    """Wait until one of `futures` finishes or `event` is set (when given)."""
    waiter = asyncio.ensure_future(event.wait()) if event is not None else None
    try:
        await asyncio.wait([*futures, *([waiter] if waiter else [])], return_when=asyncio.FIRST_COMPLETED)
    finally:
        if waiter is not None:
            waiter.cancel()


def _module_of(endpoint: str) -> str | None:
    sink = parse_endpoint(endpoint)
    return sink.module if isinstance(sink, ModuleInput) else None


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("router stopped on an error", exc_info=task.exception())
