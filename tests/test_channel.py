"""The local channel's naming: which servers meet on it (its traffic is tested with real servers in tempo-kfserving)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tempo_core.channel import CHANNEL_ENV, channel_address, channel_namespace


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
