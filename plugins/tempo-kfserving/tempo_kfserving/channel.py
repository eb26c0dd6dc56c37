"""The local channel: how servers on one machine call each other without a REST round trip.

A pipeline whose children run in their own local servers calls them thousands of times; one loopback
REST call through MLServer costs about 1 ms here, the same request over a Unix socket about a tenth of
that. Each served model listens on an abstract Unix socket named after the runtime's namespace and the
model; a client that cannot connect falls back to REST, so a child served any other way still answers.

Frames carry the protocol's own encoded request and response, so nothing is unpickled. Abstract sockets
are Linux-only, vanish with their process (nothing to clean up), and are reachable by the same local
users as the loopback port the server already listens on.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import select
import socket
import struct
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from tempo_core.errors import RemoteError
from tempo_core.remote import DEFAULT_TIMEOUT, ProtocolClient, error_message

if TYPE_CHECKING:
    from tempo_core.model import Servable
    from tempo_core.protocol import WireProtocol

__all__ = ["CHANNEL_ENV", "channel_namespace", "channel_address", "ChannelServer", "ChannelClient", "client_for"]

# Set in a server's environment to the namespace its models listen in (see `channel_namespace`).
CHANNEL_ENV = "TEMPO_CHANNEL"

Headers = dict[str, str]
Handler = Callable[[bytes, Headers], Awaitable[tuple[int, bytes, Headers]]]

# Request: header length, body length; response: status, header length, body length. Big-endian.
_REQUEST = struct.Struct(">II")
_RESPONSE = struct.Struct(">HII")
# Headers are a few names and lengths; a longer header is not a tempo client's.
_MAX_HEADER = 1 << 16


def channel_namespace() -> str:
    """The namespace of this machine's local runtime: one per state folder, so separate setups never meet."""
    from tempo_core.local_state import state_dir

    return hashlib.sha256(str(state_dir().resolve()).encode()).hexdigest()[:16]


def channel_address(model_name: str) -> str | None:
    """The abstract socket a model listens on in this process's namespace, or None without a channel here."""
    namespace = os.environ.get(CHANNEL_ENV)
    if not namespace or not sys.platform.startswith("linux"):
        return None
    return f"\0tempo/{namespace}/{model_name}"


def _pack_headers(headers: Headers) -> bytes:
    return json.dumps(headers, separators=(",", ":")).encode()


class ChannelServer:
    """Answers one model's requests on its socket, from the running event loop, through `handler`."""

    def __init__(self) -> None:
        self._server: asyncio.AbstractServer | None = None
        self._connections: set[asyncio.StreamWriter] = set()

    @classmethod
    async def start(cls, model_name: str, handler: Handler) -> ChannelServer | None:
        """Listen for `model_name`; None when this process has no channel or another process holds the name."""
        address = channel_address(model_name)
        if address is None:
            return None

        channel = cls()

        async def serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            channel._connections.add(writer)
            try:
                # A frame that is not tempo's (a stray client, a header that is not JSON) closes the connection.
                with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError, ValueError):
                    while True:
                        header_length, body_length = _REQUEST.unpack(await reader.readexactly(_REQUEST.size))
                        if header_length > _MAX_HEADER:
                            break
                        headers = json.loads(await reader.readexactly(header_length))
                        body = await reader.readexactly(body_length)
                        status, answer, answer_headers = await handler(body, headers)
                        packed = _pack_headers(answer_headers)
                        writer.write(_RESPONSE.pack(status, len(packed), len(answer)) + packed + answer)
                        await writer.drain()
            finally:
                channel._connections.discard(writer)
                writer.close()

        try:
            channel._server = await asyncio.start_unix_server(serve_connection, path=address)
        except OSError:
            return None  # the name is taken: callers reach this model over REST instead
        return channel

    async def close(self) -> None:
        """Stop listening, release the name, and hang up on the clients (Python 3.12+ waits for them)."""
        assert self._server is not None
        self._server.close()
        for writer in list(self._connections):
            writer.close()
        await self._server.wait_closed()


class ChannelClient:
    """Calls one model over its socket, on pooled connections; over REST when nothing listens there.

    Like the REST client, it never repeats a request once sent: only a failed connect falls back.
    """

    def __init__(self, model: Servable, protocol: WireProtocol, address: str, rest: ProtocolClient) -> None:
        self.model = model
        self.protocol = protocol
        self.address = address
        self.rest = rest
        self._idle: list[socket.socket] = []
        self._lock = threading.Lock()

    def _connection(self) -> socket.socket | None:
        with self._lock:
            while self._idle:
                idle = self._idle.pop()
                if not _dropped(idle):
                    return idle
                idle.close()  # the server went away since: a restarted one listens under the same name
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.settimeout(self.rest.timeout)
        try:
            connection.connect(self.address)
        except OSError:
            connection.close()
            return None
        return connection

    def __call__(self, arguments: dict[str, Any]) -> Any:
        """Send arguments bound by input name and return the decoded result."""
        connection = self._connection()
        if connection is None:
            return self.rest(arguments)
        request = self.protocol.encode_request(self.model.signature, arguments)
        packed = _pack_headers(request.headers)
        try:
            connection.sendall(_REQUEST.pack(len(packed), len(request.body)) + packed + request.body)
            status, header_length, body_length = _RESPONSE.unpack(_receive(connection, _RESPONSE.size))
            answer = _receive(connection, header_length + body_length)
            headers = json.loads(answer[:header_length])
            body = answer[header_length:]
        except (OSError, ValueError) as exc:
            connection.close()
            raise RemoteError(f"model '{self.model.name}' broke off the call on its local channel: {exc}") from exc
        with self._lock:
            self._idle.append(connection)
        if status != 200:
            raise RemoteError(f"model '{self.model.name}' answered {status}: {error_message(body)}", status_code=status)
        return self.protocol.decode_response(self.model.signature, body, headers)

    def close(self) -> None:
        """Close the pooled connections, the REST client's too."""
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()
        self.rest.close()


def _dropped(connection: socket.socket) -> bool:
    """Whether an idle connection was closed by its server: it only ever answers a request, so readable is closed."""
    return bool(select.select([connection], [], [], 0)[0])


def _receive(connection: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = connection.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("the server closed the connection")
        chunks += chunk
    return bytes(chunks)


def client_for(
    model: Servable, protocol: WireProtocol, endpoint: str, *, timeout: float = DEFAULT_TIMEOUT
) -> ProtocolClient | ChannelClient:
    """The client a server uses to call another model: its local channel when there is one, else REST."""
    rest = ProtocolClient(model, protocol, endpoint, timeout=timeout)
    address = channel_address(model.name)
    return rest if address is None else ChannelClient(model, protocol, address, rest)
