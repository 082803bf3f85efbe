"""The asyncio shell around the sans-I/O protocols: the only hub code that touches sockets and TLS.

For MQTT it reads bytes, feeds them to the connection's `Session`, writes what the session
wants written, and hands the session's events to the hub. For HTTP (workload API,
/metrics) it parses one request with `central.hub.http` and writes the handler's response.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path

from central.hub.http import HttpError, Request, Response, format_response, parse_request
from central.hub.session import Event, Session, SessionHost, State

log = logging.getLogger(__name__)

READ_SIZE = 65_536


def server_tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    """TLS 1.2+ server context with the hub certificate, as the SDK requires."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


class MqttLink:
    """One module connection as the hub sees it: its session, and the transport it is flushed into."""

    def __init__(self, session: Session, writer: asyncio.StreamWriter, on_events: EventHandler) -> None:
        self.session = session
        self._writer = writer
        self._on_events = on_events
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if peer else "?"
        self._flush_scheduled = False

    def publish(self, topic: str, payload: bytes, qos: int = 0) -> int | None:
        packet_id = self.session.publish(topic, payload, qos)
        self._flush_soon()
        return packet_id

    def acknowledge(self, packet_id: int | None) -> None:
        self.session.acknowledge(packet_id)
        self._flush_soon()

    def _flush_soon(self) -> None:
        """Write at the end of this loop iteration: packets queued meanwhile share one TLS record.

        The session keeps them in call order, so deferring the write never reorders them.
        """
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self.flush)

    def close(self, reason: str) -> None:
        """Close from the hub's side; the hub hears `Closed` like any other end."""
        events = self.session.close(reason)
        self.flush()
        self._writer.close()
        self._on_events(self, events)

    def flush(self) -> None:
        self._flush_scheduled = False
        data = self.session.data_to_send()
        if data and not self._writer.is_closing():
            self._writer.write(data)


EventHandler = Callable[[MqttLink, list[Event]], None]


async def _next_events(reader: asyncio.StreamReader, session: Session) -> list[Event]:
    loop = asyncio.get_running_loop()
    wait = session.deadline() - loop.time()
    try:
        async with asyncio.timeout(None if math.isinf(wait) else max(wait, 0)):
            data = await reader.read(READ_SIZE)
    except TimeoutError:
        return session.timeout(loop.time())
    except OSError:  # resets and TLS errors alike: the peer is gone
        return session.connection_lost()
    return session.receive_data(data, loop.time()) if data else session.connection_lost()


async def _serve_mqtt_connection(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    host: SessionHost,
    on_events: EventHandler,
) -> None:
    link = MqttLink(Session(host, asyncio.get_running_loop().time()), writer, on_events)
    try:
        while link.session.state is not State.CLOSED:
            events = await _next_events(reader, link.session)
            link.flush()
            on_events(link, events)
            with contextlib.suppress(ConnectionError):
                await writer.drain()
    finally:
        on_events(link, link.session.connection_lost())  # the hub hears `Closed` even if a handler failed
        writer.close()
        with contextlib.suppress(OSError, TimeoutError):  # OSError includes TLS errors during shutdown
            async with asyncio.timeout(2):
                await writer.wait_closed()


ConnectionHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def _tracked(serve: ConnectionHandler, tasks: set[asyncio.Task[None]]) -> ConnectionHandler:
    """`serve`, with the task running it kept in `tasks` meanwhile, so stopping can wait for it."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            # Cancelling a connection task (hub stopping) just ends that connection; ending it quietly
            # also spares asyncio's stream callback, which logs a cancelled handler as an error.
            with contextlib.suppress(asyncio.CancelledError):
                await serve(reader, writer)
        finally:
            tasks.discard(task)

    return handle


async def serve_mqtt(
    bind: str,
    port: int,
    tls: ssl.SSLContext,
    host: SessionHost,
    on_events: EventHandler,
    tasks: set[asyncio.Task[None]],
) -> asyncio.Server:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _serve_mqtt_connection(reader, writer, host, on_events)

    return await asyncio.start_server(_tracked(serve, tasks), bind, port, ssl=tls, ssl_handshake_timeout=10)


async def _read_request(reader: asyncio.StreamReader) -> Request | None:
    buffer = bytearray()
    while (request := parse_request(buffer)) is None:
        data = await reader.read(READ_SIZE)
        if not data:
            return None
        buffer += data
    return request


async def _serve_http_connection(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, handler: Callable[[Request], Response]
) -> None:
    """One request, one response, then close; a client that stalls for 30 s is dropped."""
    try:
        with contextlib.suppress(TimeoutError, ConnectionError):
            try:
                async with asyncio.timeout(30):
                    request = await _read_request(reader)
            except HttpError as e:
                response = Response(400, str(e).encode(), {"Content-Type": "text/plain"})
            else:
                if request is None:
                    return
                response = handler(request)
            writer.write(format_response(response))
            await writer.drain()
    finally:
        writer.close()


async def serve_http(
    bind: str, port: int, handler: Callable[[Request], Response], tasks: set[asyncio.Task[None]]
) -> asyncio.Server:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _serve_http_connection(reader, writer, handler)

    return await asyncio.start_server(_tracked(serve, tasks), bind, port)
