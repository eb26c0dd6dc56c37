"""SubprocessRuntime: each model's server, as its protocol describes it, runs as a plain child process."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from tempo_core.environment import ensure_python
from tempo_core.errors import DeployError, ServerNotReadyError
from tempo_core.frameworks import ModelFramework
from tempo_core.model import Servable
from tempo_core.options import RuntimeOptions
from tempo_core.pipeline import Pipeline
from tempo_core.plugins import get_plugins
from tempo_core.runtime import DeployedModel, Runtime
from tempo_subprocess.options import SubprocessOptions

__all__ = ["SubprocessRuntime"]

HOST = "127.0.0.1"
# Readiness probes go straight to loopback, never through an HTTP proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class _Server:
    process: subprocess.Popen[bytes]
    endpoint: str
    ready_paths: tuple[str, ...]
    workdir: Path
    folder: Path


# Servers by model name, shared by every SubprocessRuntime in this interpreter: `deploy()` makes a new
# runtime per call, and `list()` or `undeploy()` from any of them must see what the others started.
_SERVERS: dict[str, _Server] = {}
_LOCK = threading.Lock()


class SubprocessRuntime(Runtime):
    """Starts the server a model's protocol describes as a child process on a free loopback port.

    A pipeline's children are served in the pipeline's own server, which calls them in-process.
    """

    name: ClassVar[str] = "subprocess"
    options_class: ClassVar[type[RuntimeOptions]] = SubprocessOptions

    def deploy(self, model: Servable) -> None:
        """Start the model's server; a model already running is left as it is."""
        children = list(model.models) if isinstance(model, Pipeline) else []
        if any(child.details.platform is ModelFramework.TempoPipeline for child in children):
            raise DeployError(f"pipeline '{model.name}' has a pipeline as a child; deploy it with LocalOptions()")
        with _LOCK:
            if model.name in _SERVERS and _SERVERS[model.name].process.poll() is None:
                return
        self.undeploy(model)  # clears what a server that died left behind
        folder = Path(model.details.local_folder or "")
        # Custom code runs in the environment it was saved with; prepackaged servers in this interpreter.
        python = ensure_python(folder) if model.details.platform.is_custom_code else Path(sys.executable)
        protocol = model.protocol or get_plugins().default_protocol()
        workdir = Path(tempfile.mkdtemp(prefix=f"tempo-subprocess-{model.name}-"))
        port = _free_port()
        launch = protocol.server_launch(
            model, folder, workdir, port, self.options, python=str(python), child_endpoints={}, colocated=children
        )
        with open(workdir / "server.log", "wb") as log:
            process = subprocess.Popen(
                launch.argv,
                cwd=launch.workdir,
                env={**os.environ, **launch.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so undeploy stops its workers too
            )
        with _LOCK:
            _SERVERS[model.name] = _Server(process, f"http://{HOST}:{port}", launch.ready_paths, workdir, folder)

    def wait_ready(self, model: Servable, timeout: float | None = None) -> None:
        """Poll every ready path until it answers 200; raise if the server exits or time runs out (`deploy()`
        undeploys a model that does not become ready)."""
        server = self._server(model)
        assert isinstance(self.options, SubprocessOptions)
        seconds = timeout if timeout is not None else self.options.startup_timeout
        deadline = time.monotonic() + seconds
        for path in server.ready_paths:
            while not _answers(server.endpoint + path):
                exited = server.process.poll() is not None
                if exited or time.monotonic() > deadline:
                    log = (server.workdir / "server.log").read_text(errors="replace").splitlines()[-20:]
                    problem = "exited while starting" if exited else f"was not ready after {seconds:.0f} s"
                    raise ServerNotReadyError(
                        f"the server of model '{model.name}' {problem}; its log ends:\n" + "\n".join(log)
                    )
                time.sleep(0.1)

    def endpoint(self, model: Servable) -> str:
        """The base URL of the model's server."""
        return self._server(model).endpoint

    def undeploy_name(self, name: str) -> None:
        """Stop the server of the model called `name` and remove its working folder; a no-op when nothing runs."""
        with _LOCK:
            server = _SERVERS.pop(name, None)
        if server is not None:
            _stop(server)

    def list(self) -> list[DeployedModel]:
        """The servers this interpreter started and has not undeployed."""
        with _LOCK:
            servers = list(_SERVERS.items())
        return [
            DeployedModel(
                name=name,
                runtime=self.name,
                endpoint=server.endpoint,
                status="running" if server.process.poll() is None else f"exited ({server.process.returncode})",
                folder=str(server.folder),
            )
            for name, server in servers
        ]

    def _server(self, model: Servable) -> _Server:
        with _LOCK:
            server = _SERVERS.get(model.name)
        if server is None:
            raise DeployError(f"model '{model.name}' is not deployed on the subprocess runtime; deploy it first")
        return server


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with _OPENER.open(url, timeout=1.0) as response:
            return bool(response.status == 200)
    except OSError:  # refused, reset, timed out, or an HTTP error status
        return False


def _stop(server: _Server) -> None:
    """SIGTERM the server's process group, SIGKILL it after 10 s, and remove its working folder."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.process.pid, signal.SIGTERM)
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait()
    shutil.rmtree(server.workdir, ignore_errors=True)


@atexit.register
def _stop_all() -> None:
    """Servers never outlive the interpreter that started them."""
    with _LOCK:
        servers = list(_SERVERS.values())
        _SERVERS.clear()
    for server in servers:
        _stop(server)
