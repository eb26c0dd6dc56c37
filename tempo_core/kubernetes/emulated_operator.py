"""An emulated KServe / Seldon Core operator and ingress for `EmulatedKubernetesAPI`, for tests (opt-in).

When the emulated API server stores an applied InferenceService or SeldonDeployment, this operator starts a real
MLServer process on 127.0.0.1 the way the cluster would run the resource's predictor: a custom container with the
manifest's `MLSERVER_MODEL_*` environment, or MLServer's own sklearn / xgboost runtime for a prepackaged model. It
emulates the storage initializer by copying the artifact at the resource's storage URI into a temporary folder:
`buckets` maps URI prefixes (e.g. `s3://models`; the longest that matches wins) to local folders that stand in for
object storage. Children endpoints in `MLSERVER_MODEL_EXTRA` that name in-cluster services are rewritten to the
emulator's ingress. The resource's status turns ready once MLServer's ready endpoint answers, and failed, with the
server's last log lines, when the process exits. Requests under a resource's ingress path are proxied to its server
with the prefix removed. DELETE stops the server (by PID) and removes its folders; everything still running stops
when the emulator exits.

It emulates the operator and the storage initializer only. It does NOT check admission, images (every server runs
in this interpreter's environment), pods, resources, replicas, RBAC, credentials, real networking or DNS, nor the
operators' own behaviour (rollouts, executors, Knative, Istio).
"""

from __future__ import annotations

import http.client
import json
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tempo_core.kubernetes.client import CustomResource
from tempo_core.kubernetes.manifests import MODEL_MOUNT_PATH
from tempo_core.kubernetes.testing import EmulatedResource
from tempo_core.processes import ServerProcess, free_port

__all__ = ["EmulatedOperator", "OperatedResource", "Predictor", "KSERVE", "SELDON"]

HOST = "127.0.0.1"
_START_MLSERVER = "from mlserver.cli import main; main()"
# MLServer's runtimes for the prepackaged servers of KServe (`modelFormat`) and Seldon Core (`implementation`).
_PREPACKAGED = {
    "sklearn": "mlserver_sklearn.SKLearnModel",
    "xgboost": "mlserver_xgboost.XGBoostModel",
    "SKLEARN_SERVER": "mlserver_sklearn.SKLearnModel",
    "XGBOOST_SERVER": "mlserver_xgboost.XGBoostModel",
}
_PROBE_TIMEOUT = 0.5
_PROXY_TIMEOUT = 60.0
_LOG_LINES = 15


@dataclass(frozen=True)
class Predictor:
    """How the cluster would run a resource's predictor: the artifact's URI and the server's `MLSERVER_*` env."""

    uri: str
    env: dict[str, str]


@dataclass(frozen=True)
class OperatedResource:
    """One kind of resource the operator runs: how to read its predictor and how to report on it.

    `route` and `in_cluster` are templates of `{namespace}` and `{name}`: the ingress path, and the base URL of
    the predictor's Service inside the cluster.
    """

    emulated: EmulatedResource
    route: str
    in_cluster: str
    predictor: Callable[[dict[str, Any]], Predictor]
    failed_status: Callable[[str], dict[str, Any]]


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: str(item.get("value", "")) for item in container.get("env") or []}


def _prepackaged(server: str, name: str, uri: str) -> Predictor:
    implementation = _PREPACKAGED.get(server)
    if implementation is None:
        raise ValueError(f"the emulated operator runs no {server!r} server; it runs {', '.join(_PREPACKAGED)}")
    env = {"MLSERVER_MODEL_IMPLEMENTATION": implementation, "MLSERVER_MODEL_NAME": name}
    return Predictor(uri, {**env, "MLSERVER_MODEL_URI": MODEL_MOUNT_PATH})


def _kserve_predictor(document: dict[str, Any]) -> Predictor:
    predictor = document["spec"]["predictor"]
    if predictor.get("containers"):
        env = _env(predictor["containers"][0])
        return Predictor(env.pop("STORAGE_URI"), env)
    model = predictor["model"]
    return _prepackaged(model["modelFormat"]["name"], document["metadata"]["name"], model["storageUri"])


def _seldon_predictor(document: dict[str, Any]) -> Predictor:
    predictor = document["spec"]["predictors"][0]
    graph = predictor["graph"]
    if graph["implementation"] != "TEMPO_SERVER":
        return _prepackaged(graph["implementation"], graph["name"], graph["modelUri"])
    containers = [spec["spec"]["containers"] for spec in predictor.get("componentSpecs") or []]
    env = next((_env(item) for group in containers for item in group if item.get("name") == graph["name"]), {})
    return Predictor(graph["modelUri"], env)


KSERVE = OperatedResource(
    EmulatedResource(
        CustomResource("serving.kserve.io", "v1beta1", "inferenceservices", "InferenceService"),
        pending_status={"conditions": [{"type": "Ready", "status": "False", "reason": "PredictorNotReady"}]},
        ready_status={"conditions": [{"type": "Ready", "status": "True"}]},
    ),
    route="/serving/{namespace}/{name}",
    in_cluster="http://{name}-predictor.{namespace}.svc.cluster.local",
    predictor=_kserve_predictor,
    failed_status=lambda message: {
        "conditions": [{"type": "Ready", "status": "False", "reason": "RevisionFailed"}],
        "modelStatus": {
            "transitionStatus": "BlockedByFailedLoad",
            "lastFailureInfo": {"reason": "ModelLoadFailed", "message": message},
        },
    },
)
SELDON = OperatedResource(
    EmulatedResource(
        CustomResource("machinelearning.seldon.io", "v1", "seldondeployments", "SeldonDeployment"),
        pending_status={"state": "Creating"},
        ready_status={"state": "Available"},
    ),
    route="/seldon/{namespace}/{name}",
    in_cluster="http://{name}-default.{namespace}.svc.cluster.local:8000",
    predictor=_seldon_predictor,
    failed_status=lambda message: {"state": "Failed", "description": message},
)

Key = tuple[str, str, str, str, str]  # group, version, namespace, plural, name, as the emulated API keys objects


@dataclass
class _Server:
    kind: OperatedResource
    name: str
    namespace: str
    spec: Any
    workdir: Path
    port: int
    process: ServerProcess | None
    failure: str | None = None
    ready: bool = False


class EmulatedOperator:
    """Runs an MLServer per applied resource of `kinds`, reports its status, and proxies its ingress path.

    Pass it to `EmulatedKubernetesAPI(..., operator=...)`, with `[kind.emulated for kind in kinds]` as resources.
    """

    def __init__(self, kinds: list[OperatedResource], buckets: dict[str, Path]) -> None:
        self.kinds = {_key_of(kind.emulated.resource): kind for kind in kinds}
        self.buckets = buckets
        self.host = ""
        self._servers: dict[Key, _Server] = {}
        self._lock = threading.Lock()

    def operates(self, resource: CustomResource) -> bool:
        """Whether this operator runs resources of that kind."""
        return _key_of(resource) in self.kinds

    def applied(self, key: Key, document: dict[str, Any]) -> None:
        """Start (or restart, when its spec changed) the server of an applied resource."""
        with self._lock:
            running = self._servers.get(key)
            if running is not None and running.spec == document.get("spec"):
                return
            self._servers.pop(key, None)
        if running is not None:
            _stop(running)
        server = self._start(self.kinds[key[:2] + key[3:4]], key, document)
        with self._lock:
            self._servers[key] = server

    def status(self, key: Key) -> dict[str, Any] | None:
        """The resource's status as its operator would set it, or None for a resource this operator does not run."""
        with self._lock:
            server = self._servers.get(key)
        if server is None:
            return None
        if server.failure is None and server.process is not None and server.process.exit_code() is not None:
            lines = server.process.last_lines(_LOG_LINES).strip()
            server.failure = f"the server of '{server.name}' exited; its last lines:\n{lines}"
        if server.failure is not None:
            return server.kind.failed_status(server.failure)
        if not server.ready:
            server.ready = _answers(server.port, f"/v2/models/{server.name}/ready")
        return dict(server.kind.emulated.ready_status if server.ready else server.kind.emulated.pending_status)

    def deleted(self, key: Key) -> None:
        """Stop a deleted resource's server and remove its folders."""
        with self._lock:
            server = self._servers.pop(key, None)
        if server is not None:
            _stop(server)

    def stop_all(self) -> None:
        """Stop every server still running, as deleting the cluster would."""
        with self._lock:
            servers = list(self._servers.values())
            self._servers.clear()
        for server in servers:
            _stop(server)

    def proxy(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes, str] | None:
        """Forward a request under a resource's ingress path to its server; None when no resource has that path."""
        with self._lock:
            servers = list(self._servers.values())
        for server in servers:
            prefix = server.kind.route.format(namespace=server.namespace, name=server.name)
            if path.startswith(prefix + "/"):
                return _forward(server.port, method, path[len(prefix) :], headers, body)
        return None

    def _start(self, kind: OperatedResource, key: Key, document: dict[str, Any]) -> _Server:
        namespace, name = key[2], key[4]
        workdir = Path(tempfile.mkdtemp(prefix=f"tempo-emulated-{name}-"))
        server = _Server(kind, name, namespace, document.get("spec"), workdir, free_port(HOST), None)
        try:
            predictor = kind.predictor(document)
            models = self._download(predictor.uri, workdir / "mnt-models")
        except (KeyError, IndexError, ValueError, OSError) as exc:
            server.failure = f"the emulated operator cannot run '{name}': {type(exc).__name__}: {exc}"
            return server
        (workdir / "repository").mkdir()
        env = {
            **predictor.env,
            "MLSERVER_MODEL_URI": str(models),
            "MLSERVER_HOST": HOST,
            "MLSERVER_HTTP_PORT": str(server.port),
            "MLSERVER_GRPC_PORT": str(free_port(HOST)),
            "MLSERVER_METRICS_PORT": str(free_port(HOST)),
            "MLSERVER_METRICS_DIR": str(workdir / "metrics"),
            "MLSERVER_ENVIRONMENTS_DIR": str(workdir / "envs"),
            "MLSERVER_DEBUG": "false",
        }
        if "MLSERVER_MODEL_EXTRA" in env:
            env["MLSERVER_MODEL_EXTRA"] = self._through_ingress(kind, namespace, env["MLSERVER_MODEL_EXTRA"])
        argv = [sys.executable, "-c", _START_MLSERVER, "start", str(workdir / "repository")]
        server.process = ServerProcess(argv, workdir, env, workdir / "server.log")
        return server

    def _download(self, uri: str, target: Path) -> Path:
        """Copy the artifact at `uri` from the local folder standing in for its bucket, as the storage initializer
        would download it to /mnt/models."""
        for prefix, folder in sorted(self.buckets.items(), key=lambda item: -len(item[0])):  # the longest first
            if uri == prefix or uri.startswith(prefix.rstrip("/") + "/"):
                shutil.copytree(folder / uri[len(prefix) :].strip("/"), target)
                return target
        raise ValueError(f"no emulated bucket holds {uri!r}; buckets: {', '.join(self.buckets) or 'none'}")

    def _through_ingress(self, kind: OperatedResource, namespace: str, extra: str) -> str:
        """`MLSERVER_MODEL_EXTRA` with the in-cluster URLs of children replaced by their ingress URLs."""
        parameters = json.loads(extra)
        endpoints: dict[str, str] = parameters.get("child_endpoints", {})
        for child, url in endpoints.items():
            if url == kind.in_cluster.format(namespace=namespace, name=child):
                endpoints[child] = self.host + kind.route.format(namespace=namespace, name=child)
        return json.dumps(parameters, sort_keys=True)


def _key_of(resource: CustomResource) -> tuple[str, str, str]:
    return resource.group, resource.version, resource.plural


def _stop(server: _Server) -> None:
    if server.process is not None:
        server.process.stop(timeout=5.0)
    shutil.rmtree(server.workdir, ignore_errors=True)


def _answers(port: int, path: str) -> bool:
    connection = http.client.HTTPConnection(HOST, port, timeout=_PROBE_TIMEOUT)
    try:
        connection.request("GET", path)
        return connection.getresponse().status == http.client.OK
    except OSError:
        return False
    finally:
        connection.close()


def _forward(port: int, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes, str]:
    connection = http.client.HTTPConnection(HOST, port, timeout=_PROXY_TIMEOUT)
    try:
        connection.request(method, path or "/", body=body or None, headers=headers)
        response = connection.getresponse()
        return response.status, response.read(), response.getheader("Content-Type") or "application/octet-stream"
    except OSError as exc:
        return http.client.SERVICE_UNAVAILABLE, f"upstream connect error: {exc}".encode(), "text/plain"
    finally:
        connection.close()
