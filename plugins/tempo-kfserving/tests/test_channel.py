"""The local channel: its naming, its framing, and closing it (real servers answering on it: test_local_channel.py)."""

from __future__ import annotations

import asyncio
import json
import struct
import uuid
from pathlib import Path

import pytest

from tempo_kfserving.channel import CHANNEL_ENV, ChannelServer, channel_address, channel_namespace


def test_without_a_namespace_there_is_no_channel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CHANNEL_ENV, raising=False)
    assert channel_address("iris") is None


def test_each_state_folder_is_its_own_namespace(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TEMPO_STATE_DIR", str(tmp_path / "one"))
    first = channel_namespace()
    assert channel_namespace() == first, "every process of one setup computes the same namespace"
    monkeypatch.setenv("TEMPO_STATE_DIR", str(tmp_path / "two"))
    assert channel_namespace() != first


def test_a_models_address_is_an_abstract_socket_in_the_namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CHANNEL_ENV, "0123456789abcdef")
    address = channel_address("iris-classifier")
    assert address == "\0tempo/0123456789abcdef/iris-classifier"
    assert len(address.encode()) < 108, "fits a Unix socket address for the longest model name too"
    assert len(channel_address("a" * 63).encode()) < 108  # type: ignore[union-attr]


async def echo(body: bytes, headers: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
    return 201, body[::-1], {"seen": headers.get("kind", "")}


def test_a_frame_goes_through_the_handler_and_closing_hangs_up_on_connected_clients(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(CHANNEL_ENV, f"test-{uuid.uuid4().hex[:12]}")

    async def scenario() -> tuple[bytes, bytes, int]:
        channel = await ChannelServer.start("echo", echo)
        assert channel is not None
        assert await ChannelServer.start("echo", echo) is None, "a name already served is not taken twice"
        reader, writer = await asyncio.open_unix_connection(channel_address("echo"))
        header = json.dumps({"kind": "test"}).encode()
        writer.write(struct.pack(">II", len(header), 5) + header + b"hello")
        status, header_length, body_length = struct.unpack(">HII", await reader.readexactly(10))
        answer = await reader.readexactly(header_length + body_length)
        await asyncio.wait_for(channel.close(), timeout=10)  # with the client still connected
        after_close = await asyncio.wait_for(reader.read(), timeout=10)
        writer.close()
        return answer, after_close, status

    answer, after_close, status = asyncio.run(scenario())

    assert status == 201
    assert answer == b'{"seen":"test"}olleh'
    assert after_close == b"", "the client sees the connection closed"
