"""A real image registry on loopback: Docker Distribution 2.8, Debian's `docker-registry`, run as a process.

Nothing is emulated: images pushed here are stored by the registry that `docker push` talks to everywhere, with no
auth. It listens on 127.0.0.1, which the Docker engine treats as an insecure registry by default, so the engine
pushes to and pulls from it over plain HTTP, without TLS and without being configured.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections import deque
from pathlib import Path
from types import TracebackType

import yaml

__all__ = ["LoopbackRegistry", "REGISTRY_BINARY"]

REGISTRY_BINARY = "docker-registry"
_LOG_LINES = 15


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LoopbackRegistry:
    """A Docker Distribution 2.8 registry on 127.0.0.1:<free port>, storing into a temporary folder, with no auth.

    Use it as a context manager: entering starts the process and waits until `GET /v2/` answers; leaving stops
    that process, by its PID, and removes its folder.
    """

    def __init__(self, binary: str = REGISTRY_BINARY, startup_timeout: float = 30.0) -> None:
        self._binary = binary
        self._startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._folder: Path | None = None
        self._port = 0

    @property
    def address(self) -> str:
        """Where the engine reaches the registry, "127.0.0.1:PORT": the registry part of an image name."""
        if self._process is None:
            raise RuntimeError("the registry is not started; use LoopbackRegistry as a context manager")
        return f"127.0.0.1:{self._port}"

    def start(self) -> LoopbackRegistry:
        """Write the registry's config into a new temporary folder, start it, and wait until it answers."""
        binary = shutil.which(self._binary)
        if binary is None:
            raise FileNotFoundError(
                f"{self._binary} is not installed; install it with: apt-get install docker-registry"
            )
        self._folder = Path(tempfile.mkdtemp(prefix="tempo-registry-"))
        self._port = _free_port()
        config = {
            "version": 0.1,
            "log": {"level": "warn", "accesslog": {"disabled": True}},
            "storage": {"filesystem": {"rootdirectory": str(self._folder / "storage")}, "delete": {"enabled": True}},
            "http": {"addr": f"127.0.0.1:{self._port}"},
        }
        (self._folder / "config.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
        with open(self._folder / "registry.log", "wb") as log:
            self._process = subprocess.Popen(
                [binary, "serve", str(self._folder / "config.yml")],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        assert self._process is not None and self._folder is not None
        deadline = time.monotonic() + self._startup_timeout
        url = f"http://{self.address}/v2/"
        while True:
            try:
                with urllib.request.urlopen(url, timeout=1.0) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError):
                pass
            code = self._process.poll()
            if code is not None or time.monotonic() > deadline:
                with open(self._folder / "registry.log", errors="replace") as log:
                    tail = "".join(deque(log, maxlen=_LOG_LINES))
                state = (
                    f"exited with code {code}"
                    if code is not None
                    else f"is not ready after {self._startup_timeout:.0f} s"
                )
                raise RuntimeError(f"{self._binary} at {url} {state}; its last lines:\n{tail}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the registry process (by PID) and remove its folder, with everything pushed to it."""
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def __enter__(self) -> LoopbackRegistry:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
