"""The router of the local edgeHub: accept (durably), queue per endpoint, deliver, expire, count.

- `accept` returns (`submit`'s future completes) once the message is committed; messages that
  arrive while a commit is running wait for the next one, so one transaction (and one fsync) serves
  many messages: group commit. The protocol head sends PUBACK only after that. A message no route
  takes is dropped, as edgeHub drops it.
- Each endpoint (`/modules/{m}/inputs/{i}`) of an attached module has one delivery task. It keeps
  a window of messages in flight to the module's `deliver`, in queue order (highest priority
  first, order kept within a priority), and acks in the store what the module acknowledged. A
  module with nothing left to receive is handed a new message while its commit runs. While the
  module stays attached but delivery fails, it retries with exponential back-off, 1 s to 60 s.
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
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from typing import Final, ParamSpec, TypeVar

from central.hub.delivery import BACKOFF_MAX_S, BACKOFF_START_S, AckState, Deliver, Delivery
from central.hub.message import Message
from central.hub.metrics import MetricsRegistry
from central.hub.store import MessageStore, Prepared, QueuedMessage, StoreError
from central.routing import UPSTREAM_ENDPOINT, ModuleInput, RouteTable, parse_endpoint

log = logging.getLogger(__name__)

UNROUTED: Final = "(no route)"

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
        self._pending: list[tuple[Prepared, asyncio.Future[None]]] = []
        self._pending_acks: list[tuple[str, list[int]]] = []  # (endpoint, seqs) delivered, to remove
        self._acks: dict[str, AckState] = {}  # per endpoint, shared by successive deliveries
        self._pending_event = asyncio.Event()
        self._closing = False
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="message-store")
        self._read_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="message-store-read")
        self._modules: dict[str, Deliver] = {}
        self._deliveries: dict[str, Delivery] = {}
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
        stored = self.submit(message)
        if stored is not None:
            await stored

    def submit(self, message: Message) -> asyncio.Future[None] | None:
        """Route `message`; the future completes once it is durable, or fails (then it must not be
        acknowledged). None: no route takes it, so there is nothing to wait for (it is dropped).

        The protocol head uses this rather than `accept` to spare a task per message. A message for
        an idle module is handed to it at once, while it is being committed: its latency does not
        include the disk. Should the hub die before the commit, the sender, never acknowledged,
        sends it again: a duplicate, never a loss.
        """
        matches = self.routes.match(message)
        if not matches:
            self._dropped.inc(UNROUTED)
            return None
        if self._closing:
            raise RouterClosedError("router is stopping")
        prepared = self.store.prepare(message, matches)
        for q in prepared.queued:
            delivery = self._deliveries.get(q.endpoint)
            if delivery is not None and delivery.idle():
                delivery.offer(q)
            self._depth[q.endpoint] += 1
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((prepared, future))
        self._pending_event.set()
        return future

    async def _commit_loop(self) -> None:
        while not (self._closing and not self._pending and not self._pending_acks):
            await self._pending_event.wait()
            self._pending_event.clear()
            batch, self._pending = self._pending, []
            acks, self._pending_acks = self._pending_acks, []
            if batch or acks:
                await self._commit(batch, acks)

    async def _commit(
        self, batch: list[tuple[Prepared, asyncio.Future[None]]], acks: list[tuple[str, list[int]]]
    ) -> None:
        """One transaction for accepted messages and delivery acks; then wake the deliveries."""
        by_endpoint: dict[str, list[int]] = {}
        for endpoint, seqs in acks:
            by_endpoint.setdefault(endpoint, []).extend(seqs)
        try:
            removed = await self._call(self.store.append, [prepared for prepared, _ in batch], by_endpoint)
        except BaseException as e:  # every sender hears of it, and nothing is acknowledged
            self._not_stored(batch, e)
            if not isinstance(e, StoreError):
                raise
            log.error("could not store %d messages and %d acks: %s", len(batch), len(acks), e)
            self._pending_acks[:0] = acks  # deliveries are recorded with the next commit
            return
        for endpoint, count in removed.items():
            self._depth[endpoint] -= count
        for endpoint, seqs in by_endpoint.items():
            self._acks[endpoint].recorded(seqs)
        if batch:
            self._commit_count.inc()
        touched: dict[str, int] = {}  # endpoint: highest priority (lowest number) committed
        for prepared, future in batch:
            if not future.done():  # the sender may have gone; the message is stored all the same
                future.set_result(None)
            for route, _ in prepared.upstream:
                self._in.inc(route)
                self._out.inc(route, UPSTREAM_ENDPOINT)
            for q in prepared.queued:
                self._in.inc(q.route)
                touched[q.endpoint] = min(q.priority, touched.get(q.endpoint, q.priority))
        for endpoint, priority in touched.items():
            self._wake(endpoint, priority)

    def _not_stored(self, batch: list[tuple[Prepared, asyncio.Future[None]]], error: BaseException) -> None:
        failure = error if isinstance(error, Exception) else RouterClosedError("router stopped")
        for prepared, future in batch:
            if not future.done():
                future.set_exception(failure)
            for q in prepared.queued:
                self._depth[q.endpoint] -= 1

    def _fail_pending(self, error: Exception) -> None:
        batch, self._pending = self._pending, []
        self._not_stored(batch, error)

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
        if deliver is None or self._group is None or self._closing or endpoint in self._deliveries:
            return
        sink = parse_endpoint(endpoint)
        assert isinstance(sink, ModuleInput)
        acks = self._acks.setdefault(endpoint, AckState())
        delivery = Delivery(self, endpoint, sink.input, deliver, acks)
        delivery.task = self._group.create_task(delivery.run(), name=f"deliver {endpoint}")
        self._deliveries[endpoint] = delivery

    def _wake(self, endpoint: str, priority: int) -> None:
        self._start_delivery(endpoint)
        delivery = self._deliveries.get(endpoint)
        if delivery is not None:
            delivery.notify(priority)

    # DeliveryHost: what deliveries ask of the router
    async def read_queue(self, endpoint: str, after: tuple[int, int] | None, limit: int) -> list[QueuedMessage]:
        return await self._read(self.store.read, endpoint, after, limit=limit, now=self.clock())

    def queue_length(self, endpoint: str) -> int:
        return self._depth[endpoint]

    def delivered(self, endpoint: str, messages: Sequence[QueuedMessage]) -> None:
        """Count what a module acknowledged, and have it removed from the queue at the next commit."""
        for q in messages:
            self._out.inc(q.route, endpoint)
        self._pending_acks.append((endpoint, [q.seq for q in messages]))
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

    def accepted_by_route(self) -> dict[str, int]:
        """Messages each route has accepted since the hub started (the dashboard's routes view)."""
        return {route: int(n) for (route,), n in self._in.values.items()}

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


def _module_of(endpoint: str) -> str | None:
    sink = parse_endpoint(endpoint)
    return sink.module if isinstance(sink, ModuleInput) else None


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("router stopped on an error", exc_info=task.exception())
