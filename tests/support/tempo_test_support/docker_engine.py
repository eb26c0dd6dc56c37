"""A real Docker engine for the tests: the one DOCKER_HOST or /var/run/docker.sock reaches, else a dockerd of their own.

A dockerd of the tests' own listens on a socket in the clone's ignored `.cache/docker/`, with its data root there
too (so images survive between runs), iptables enabled (containers on user-defined networks reach each other) and
no default bridge. The one who started it stops it, by PID; a dockerd left by a killed run is reused rather than
fought over.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import docker

__all__ = ["EngineUnavailable", "running_engine", "ENGINE_DIR", "REPO"]

REPO = Path(__file__).resolve().parents[3]
ENGINE_DIR = REPO / ".cache" / "docker"
_START_SECONDS = 60
_STOP_SECONDS = 30


class EngineUnavailable(Exception):
    """No Docker engine is reachable and none can be started here; the message says why."""


def _client_of(host: str | None) -> docker.DockerClient | None:
    try:
        client = docker.DockerClient(base_url=host, max_pool_size=32) if host else docker.from_env(max_pool_size=32)
        client.ping()
    except Exception:  # any failure means: not this engine
        return None
    return client


def _log_tail(path: Path, count: int = 15) -> str:
    with open(path, errors="replace") as log:
        return "".join(deque(log, maxlen=count))


def _start_dockerd(socket: str) -> subprocess.Popen[bytes]:
    dockerd = shutil.which("dockerd") or "/usr/sbin/dockerd"
    if not os.path.exists(dockerd):
        raise EngineUnavailable(
            "no Docker engine is reachable and dockerd is not installed (apt-get install docker.io)"
        )
    if os.geteuid() != 0:
        raise EngineUnavailable("no Docker engine is reachable, and starting dockerd needs root")
    ENGINE_DIR.mkdir(parents=True, exist_ok=True)
    command = [
        dockerd,
        f"--host={socket}",
        f"--data-root={ENGINE_DIR / 'data'}",
        f"--exec-root={ENGINE_DIR / 'exec'}",
        f"--pidfile={ENGINE_DIR / 'dockerd.pid'}",
        # No default docker0 bridge: tempo's containers join user-defined networks, and another engine may own it.
        "--bridge=none",
    ]
    with open(ENGINE_DIR / "dockerd.log", "wb") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(_STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def running_engine() -> Iterator[tuple[docker.DockerClient, str | None]]:
    """A client of a running engine and the DOCKER_HOST to give other processes (None: the default one)."""
    if os.environ.get("DOCKER_HOST") or Path("/var/run/docker.sock").exists():
        reachable = _client_of(None)
        if reachable is not None:
            yield reachable, None
            return
    socket = f"unix://{ENGINE_DIR / 'docker.sock'}"
    client = _client_of(socket)
    process = None
    if client is None:
        started = time.monotonic()
        process = _start_dockerd(socket)
        while client is None and process.poll() is None and time.monotonic() - started < _START_SECONDS:
            time.sleep(0.1)
            client = _client_of(socket)
        if client is None:
            _stop(process)
            tail = _log_tail(ENGINE_DIR / "dockerd.log")
            raise EngineUnavailable(f"dockerd could not be started here; its last lines:\n{tail}")
    try:
        yield client, socket
    finally:
        client.close()
        if process is not None:
            _stop(process)
