"""The embedded local runtime: each model's server runs as a child process on this machine's loopback."""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import ClassVar

import urllib3

from tempo_core.errors import DeployError, ServerNotReadyError, TempoError
from tempo_core.files import folder_digest
from tempo_core.local_state import ServerRecord, find_record, records, remove_record, write_record
from tempo_core.model import Servable
from tempo_core.options import LocalOptions, RuntimeOptions
from tempo_core.pipeline import Pipeline, children_of, servables_in_order
from tempo_core.processes import (
    ServerProcess,
    free_port,
    last_lines,
    port_is_free,
    process_start_time,
    stop_process_group,
)
from tempo_core.protocol import protocol_of
from tempo_core.runtime import DeployedModel, Runtime

__all__ = ["LocalRuntime"]

_POLL_SECONDS = 0.05

# The servers this interpreter started, by owner name, to stop and reap them; what every process
# can see is in tempo_core.local_state.
_PROCESSES: dict[str, ServerProcess] = {}
_LOCK = threading.RLock()


def _running_record(name: str) -> ServerRecord | None:
    record = find_record(name)
    return record if record is not None and record.running() else None


def _stop(name: str) -> None:
    with _LOCK:
        record = find_record(name)
        if record is None:
            return
        if record.owner != name:
            raise DeployError(
                f"model '{name}' is served inside pipeline '{record.owner}''s server; undeploy '{record.owner}', "
                "or deploy the pipeline with LocalOptions(colocate=False) to run its children on their own"
            )
        process = _PROCESSES.pop(name, None)
        if process is not None:
            process.stop()
        else:
            stop_process_group(record.pid, record.start_time)
        shutil.rmtree(record.workdir, ignore_errors=True)
        remove_record(name)
    for child in record.children:
        _stop(child)


@atexit.register
def _stop_started_here() -> None:
    """Stop what this interpreter started (not detached) and forget it, before the interpreter exits."""
    for owner in list(_PROCESSES):
        with contextlib.suppress(TempoError, OSError):
            _stop(owner)


class LocalRuntime(Runtime):
    """Runs each model's server as a child process on a free loopback port; no Docker needed.

    A pipeline's children are served in the pipeline's own server and called in-process
    (`LocalOptions(colocate=True)`, the default), except children already deployed on their own.
    Every process on the machine sees the same deployments (`tempo list`).
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
        """Start the model's server (with its children for a pipeline); a server that still serves what the model's
        folders hold, with the same options, is kept, and one whose folders were saved again is replaced."""
        from tempo_core.artifact import read_index
        from tempo_core.environment import ensure_python, environment_matches_current

        with _LOCK:
            spec = self._spec(model)
            running = _running_record(model.name)
            if running is not None and (running.owner != model.name or running.spec == spec):
                return
            stale = find_record(model.name)
            previous_port = None
            if stale is not None and stale.owner == model.name:
                # Come back on the same port, so pipelines that call this model find it again.
                previous_port = int(stale.endpoint.rsplit(":", 1)[1])
                _stop(model.name)
            started: list[str] = []
            workdir: Path | None = None
            try:
                endpoints, colocated = self._place_children(model, started)
                folder = Path(model.details.local_folder or "")
                # Prepackaged servers run in this interpreter; custom code in the environment it was saved with,
                # whose wheels are checked against its index before a new environment is built from them.
                python = Path(sys.executable)
                if model.details.platform.is_custom_code and not environment_matches_current(folder):
                    read_index(folder)
                    python = ensure_python(folder)
                workdir = Path(tempfile.mkdtemp(prefix=f"tempo-{model.name}-"))
                port = previous_port if previous_port and port_is_free(self._options.host, previous_port) else None
                port = port or free_port(self._options.host)
                launch = protocol_of(model).server_launch(
                    model,
                    folder,
                    workdir,
                    port,
                    self._options,
                    python=str(python),
                    child_endpoints=endpoints,
                    colocated=colocated,
                    host=self._options.host,
                )
                log_path = workdir / "server.log"
                server = ServerProcess(launch.argv, launch.workdir, launch.env, log_path, detach=self._options.detach)
            except BaseException:
                if workdir is not None:
                    shutil.rmtree(workdir, ignore_errors=True)
                for child in started:
                    _stop(child)
                raise
            if not self._options.detach:
                _PROCESSES[model.name] = server
            write_record(
                ServerRecord(
                    owner=model.name,
                    serves=[model.name, *(child.name for child in colocated)],
                    pid=server.pid,
                    start_time=process_start_time(server.pid) or 0,
                    endpoint=f"http://{self._options.host}:{port}",
                    grpc_endpoint=f"{self._options.host}:{launch.grpc_port}" if launch.grpc_port else None,
                    metrics_endpoint=f"http://{self._options.host}:{launch.metrics_port}/metrics"
                    if launch.metrics_port
                    else None,
                    workdir=str(workdir),
                    log_path=str(log_path),
                    ready_paths=list(launch.ready_paths),
                    folders={served.name: served.details.local_folder or "" for served in (model, *colocated)},
                    children=started,
                    spec=spec,
                )
            )

    def _spec(self, model: Servable) -> str:
        """A digest of what the model's server is made from: every folder in its tree and the options."""
        folders = {
            served.name: folder_digest(Path(served.details.local_folder)) if served.details.local_folder else ""
            for served in servables_in_order(model)
        }
        options = self._options.model_dump(mode="json", exclude={"startup_timeout", "client", "detach"})
        return hashlib.sha256(json.dumps({"folders": folders, "options": options}, sort_keys=True).encode()).hexdigest()

    def _place_children(self, model: Servable, started: list[str]) -> tuple[dict[str, str], list[Servable]]:
        """Where each child of a pipeline runs: already deployed, co-located, or started now on its own (added to
        `started`, which the caller stops if the pipeline's deploy fails)."""
        endpoints: dict[str, str] = {}
        colocated: list[Servable] = []
        for child in children_of(model):
            running = _running_record(child.name)
            if running is not None:
                endpoints[child.name] = running.endpoint
            elif self._options.colocate and not isinstance(child, Pipeline):
                colocated.append(child)
            else:
                self.deploy(child)
                started.append(child.name)
                self.wait_ready(child)
                endpoints[child.name] = self.endpoint(child)
        return endpoints, colocated

    def _record(self, model: Servable) -> ServerRecord:
        record = find_record(model.name)
        if record is None:
            raise DeployError(f"model '{model.name}' is not deployed on the local runtime; deploy it first")
        return record

    def wait_ready(self, model: Servable, timeout: float | None = None) -> None:
        """Poll the server's ready endpoints until they answer 200, the process dies, or time runs out."""
        record = self._record(model)
        limit = timeout if timeout is not None else self._options.startup_timeout
        deadline = time.monotonic() + limit
        pending = list(record.ready_paths)
        with urllib3.PoolManager(retries=False, timeout=1.0) as session:
            while pending:
                if not record.running():
                    lines = last_lines(Path(record.log_path))
                    raise ServerNotReadyError(
                        f"the server of model '{model.name}' exited while starting; its last lines:\n{lines}"
                    )
                try:
                    if session.request("GET", record.endpoint + pending[0]).status == 200:
                        pending.pop(0)
                        continue
                except urllib3.exceptions.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    lines = last_lines(Path(record.log_path))
                    raise ServerNotReadyError(
                        f"model '{model.name}' was not ready at {record.endpoint}{pending[0]} after {limit:.0f} s; "
                        f"raise LocalOptions(startup_timeout=...) if it loads slowly. The server's last lines:\n{lines}"
                    )
                time.sleep(_POLL_SECONDS)

    def endpoint(self, model: Servable) -> str:
        """The base URL of the model's server."""
        return self._record(model).endpoint

    def grpc_endpoint(self, model: Servable) -> str | None:
        """The `host:port` of the model server's gRPC endpoint, when its protocol has one."""
        return self._record(model).grpc_endpoint

    def metrics_endpoint(self, model: Servable) -> str | None:
        """The URL of the model server's Prometheus metrics, unless deployed with `LocalOptions(metrics=False)`."""
        return self._record(model).metrics_endpoint

    def undeploy_name(self, name: str) -> None:
        """Stop the server of the model called `name` and the children its deploy started, whichever process
        started it; a no-op when nothing runs."""
        _stop(name)

    def list(self) -> list[DeployedModel]:
        """Every model the local runtime serves on this machine, from any process."""
        return [
            DeployedModel(
                name=name,
                runtime=self.name,
                endpoint=record.endpoint,
                grpc_endpoint=record.grpc_endpoint,
                metrics_endpoint=record.metrics_endpoint,
                status="running" if record.running() else "exited",
                folder=record.folders.get(name) or None,
            )
            for record in records()
            for name in record.serves
        ]
