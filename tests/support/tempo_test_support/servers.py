"""Waiting for a server process that a test started to answer."""

from __future__ import annotations

import time

import pytest
import requests

from tempo_core.processes import ServerProcess

__all__ = ["wait_until_ready"]

_LOG_LINES = 40


def wait_until_ready(url: str, server: ServerProcess, seconds: float = 90.0) -> None:
    """Poll `url` until it answers 200; fail the test with the server's last lines if it exits or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.exit_code() is None, server.last_lines(_LOG_LINES)
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    pytest.fail(f"{url} was not ready in {seconds} s:\n{server.last_lines(_LOG_LINES)}")
