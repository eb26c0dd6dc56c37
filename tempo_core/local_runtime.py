"""The embedded local runtime: each model's server runs as a child process on this machine's loopback."""

from __future__ import annotations

import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import requests

from tempo_core.errors import DeployError, ServerNotReadyError
from tempo_core.model import Servable
from tempo_core.options import LocalOptions, RuntimeOptions
from tempo_core.pipeline import Pipeline
from tempo_core.plugins import get_plugins
from tempo_core.processes import ServerProcess, free_port
from tempo_core.protocol import Protocol, ServerLaunch
from tempo_core.reference import ModelReference
from tempo_core.runtime import DeployedModel, Runtime

__all__ = ["LocalRuntime"]

_POLL_SECONDS = 0.05


@dataclass
class _Running:
    owner: str
    server: ServerProcess
    launch: ServerLaunch
    endpoint: str
    workdir: Path
    children: list[str]
    colocated: list[str]


# Servers started by this interpreter, by the names of the models they serve (a pipeline's
# co-located children share its entry); shared by every LocalRuntime, so a pipeline finds
# children that were deployed on their own.
_SERVERS: dict[str, _Running] = {}
_SERVERS_LOCK = threading.RLock()


def protocol_of(model: Servable) -> Protocol:
    """The model's protocol, or the default one from the installed plugins."""
    return model.protocol if model.protocol is not None else get_plugins().default_protocol()


def _alive(name: str) -> bool:
    running = _SERVERS.get(name)
    return running is not None and running.server.exit_code() is None


def _stop(name: str) -> None:
    with _SERVERS_LOCK:
        running = _SERVERS.get(name)
        if running is None:
            return
        if running.owner != name:
            raise DeployError(
                f"model '{name}' is served inside pipeline '{running.owner}''s server; undeploy '{running.owner}', "
                "or deploy the pipeline with LocalOptions(colocate=False) to run its children on their own"
            )
        for served in (name, *running.colocated):
            _SERVERS.pop(served, None)
    running.server.stop()
    shutil.rmtree(running.workdir, ignore_errors=True)
    for child in running.children:
        _stop(child)


class LocalRuntime(Runtime):
    """Runs each model's server as a child process on a free loopback port; no Docker needed.

    A pipeline's children are served in the pipeline's own server and called in-process
    (`LocalOptions(colocate=True)`, the default), except children already deployed on their own.
    """

    name: ClassVar[str] = "local"
    options_class: ClassVar[type[RuntimeOptions]] = LocalOptions

    def __init__(self, options: RuntimeOptions | None = None) -> None:
        super().__init__(options if options is not None else LocalOptions())

    @property
    def _options(self) -> LocalOptions:
        assert isinstance(self.options, LocalOptions)
        return self.options

    def deploy(self, model: Servable) -> None:
        """Start the model's server (with its children for a pipeline); a running model is left as it is."""
        from tempo_core.environment import ensure_python

        with _SERVERS_LOCK:
            if _alive(model.name):
                return
            _SERVERS.pop(model.name, None)
            endpoints, colocated, started = self._place_children(model)
        folder = Path(model.details.local_folder or "")
        # Prepackaged servers run in this interpreter; custom code in the environment it was saved with.
        python = ensure_python(folder) if model.details.platform.is_custom_code else Path(sys.executable)
        workdir = Path(tempfile.mkdtemp(prefix=f"tempo-{model.name}-"))
        port = free_port(self._options.host)
        try:
            launch = protocol_of(model).server_launch(
                model,
                folder,
                workdir,
                port,
                self._options,
                python=str(python),
                child_endpoints=endpoints,
                colocated=colocated,
            )
            server = ServerProcess(launch.argv, launch.workdir, launch.env, workdir / "server.log")
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            for child in started:
                _stop(child)
            raise
        running = _Running(
            model.name,
            server,
            launch,
            f"http://{self._options.host}:{port}",
            workdir,
            started,
            [child.name for child in colocated],
        )
        with _SERVERS_LOCK:
            for served in (model.name, *running.colocated):
                _SERVERS[served] = running

    def _place_children(self, model: Servable) -> tuple[dict[str, str], list[Servable], list[str]]:
        """Where each child of a pipeline runs: already deployed, co-located, or started now on its own."""
        if not isinstance(model, Pipeline):
            return {}, [], []
        endpoints: dict[str, str] = {}
        colocated: list[Servable] = []
        started: list[str] = []
        for child in model.models:
            target = child.resolve() if isinstance(child, ModelReference) else child
            if _alive(target.name):
                endpoints[target.name] = _SERVERS[target.name].endpoint
            elif self._options.colocate and not isinstance(target, Pipeline):
                colocated.append(target)
            else:
                self.deploy(target)
                self.wait_ready(target)
                started.append(target.name)
                endpoints[target.name] = _SERVERS[target.name].endpoint
        return endpoints, colocated, started

    def _running(self, model: Servable) -> _Running:
        running = _SERVERS.get(model.name)
        if running is None:
            raise DeployError(f"model '{model.name}' is not deployed on the local runtime; deploy it first")
        return running

    def wait_ready(self, model: Servable, timeout: float | None = None) -> None:
        """Poll the server's ready endpoints until they answer 200, the process dies, or time runs out."""
        running = self._running(model)
        deadline = time.monotonic() + (timeout if timeout is not None else self._options.startup_timeout)
        pending = list(running.launch.ready_paths)
        with requests.Session() as session:
            while pending:
                code = running.server.exit_code()
                if code is not None:
                    lines = running.server.last_lines()
                    self.undeploy(model)
                    raise ServerNotReadyError(
                        f"the server of model '{model.name}' exited with code {code} while starting; "
                        f"its last lines:\n{lines}"
                    )
                try:
                    if session.get(running.endpoint + pending[0], timeout=1.0).status_code == 200:
                        pending.pop(0)
                        continue
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline:
                    lines = running.server.last_lines()
                    self.undeploy(model)
                    raise ServerNotReadyError(
                        f"model '{model.name}' was not ready at {running.endpoint}{pending[0]} after "
                        f"{self._options.startup_timeout:.0f} s; raise LocalOptions(startup_timeout=...) if it "
                        f"loads slowly. The server's last lines:\n{lines}"
                    )
                time.sleep(_POLL_SECONDS)

    def endpoint(self, model: Servable) -> str:
        """The base URL of the model's server."""
        return self._running(model).endpoint

    def undeploy(self, model: Servable) -> None:
        """Stop the model's server and the children its deploy started; a no-op when nothing runs."""
        _stop(model.name)

    def list(self) -> list[DeployedModel]:
        """The servers this interpreter started that are still running."""
        with _SERVERS_LOCK:
            items = list(_SERVERS.items())
        return [
            DeployedModel(
                name=name,
                runtime=self.name,
                endpoint=running.endpoint,
                status="running" if running.server.exit_code() is None else f"exited ({running.server.exit_code()})",
            )
            for name, running in items
        ]
