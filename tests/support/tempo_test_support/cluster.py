"""An emulated Kubernetes cluster running Seldon Core and KServe, whose pods run for real in Docker containers.

What is emulated: the Kubernetes API server (tempo_test_support.kube_api), the operators' resource-to-pod logic
(tempo_test_support.operators), Services and DNS (tempo_test_support.network), Seldon's executor (the Service goes
straight to the model's container) and the ingress (Istio / Knative: `<ingress>/seldon/<ns>/<name>/...` and
`<ingress>/serving/<ns>/<name>/...` are forwarded to the resource's Service with the prefix removed).

What runs for real (tempo_test_support.kubelet): each pod's storage initializer, from the image the operator
configuration names, downloading the artifact from the real S3 endpoint with the credentials of the Secret or
service account the resource names; then the server container from the image the resource (or the operator's
configuration) names, with its env, command, port and readiness probe, as user 1000, the artifact mounted
read-only at /mnt/models; a pipeline's server reaching its children at their in-cluster Service names.

Use it as a context manager; on exit every pod, container, folder and forwarder it made is gone.
"""

from __future__ import annotations

import copy
import http.client
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import docker

from tempo_core.kubernetes.client import CustomResource
from tempo_test_support.kube_api import SECRETS, SERVICE_ACCOUNTS, EmulatedKubernetesAPI, EmulatedResource, ObjectKey
from tempo_test_support.kubelet import POD_LABEL, Kubelet, Pod
from tempo_test_support.network import AddressPool, HostsFile, ServiceProxy
from tempo_test_support.operators import (
    KServeConfig,
    SeldonConfig,
    UnsupportedResource,
    Workload,
    kserve_workload,
    seldon_workload,
)

__all__ = ["EmulatedCluster", "SELDON_DEPLOYMENTS", "INFERENCE_SERVICES"]

SELDON_DEPLOYMENTS = EmulatedResource(
    CustomResource("machinelearning.seldon.io", "v1", "seldondeployments", "SeldonDeployment"),
    pending_status={"state": "Creating"},
    ready_status={"state": "Available"},
)
INFERENCE_SERVICES = EmulatedResource(
    CustomResource("serving.kserve.io", "v1beta1", "inferenceservices", "InferenceService"),
    pending_status={"conditions": [{"type": "Ready", "status": "False", "reason": "PredictorNotReady"}]},
    ready_status={"conditions": [{"type": "Ready", "status": "True"}]},
)
_INGRESS_TIMEOUT = 120.0


def _seldon_failed(message: str) -> dict[str, Any]:
    return {"state": "Failed", "description": message}


def _kserve_failed(message: str) -> dict[str, Any]:
    return {
        "conditions": [{"type": "Ready", "status": "False", "reason": "RevisionFailed"}],
        "modelStatus": {
            "transitionStatus": "BlockedByFailedLoad",
            "lastFailureInfo": {"reason": "ModelLoadFailed", "message": message},
        },
    }


@dataclass(frozen=True)
class _Kind:
    emulated: EmulatedResource
    workload: Callable[[dict[str, Any]], Workload]
    failed_status: Callable[[str], dict[str, Any]]


@dataclass
class _Running:
    kind: _Kind
    spec: Any
    workload: Workload | None
    pod: Pod | None
    failure: str | None = None


class EmulatedCluster:
    """The cluster: pass the operators' configurations for the kinds it runs (Seldon Core, KServe or both)."""

    def __init__(
        self,
        client: docker.DockerClient,
        *,
        seldon: SeldonConfig | None = None,
        kserve: KServeConfig | None = None,
    ) -> None:
        self.id = f"tempo-cluster-{uuid.uuid4().hex[:8]}"
        self.client = client
        self._folder = Path(tempfile.mkdtemp(prefix=f"{self.id}-"))
        self._hosts = HostsFile(self._folder / "hosts")
        self._addresses = AddressPool()
        self._service_addresses: dict[tuple[str, str], str] = {}
        self._proxy = ServiceProxy()
        self._running: dict[ObjectKey, _Running] = {}
        self._lock = threading.Lock()
        self._kinds: dict[tuple[str, str, str], _Kind] = {}
        if seldon is not None:
            self._add(SELDON_DEPLOYMENTS, lambda document: seldon_workload(document, seldon), _seldon_failed)
        if kserve is not None:
            self._add(
                INFERENCE_SERVICES,
                lambda document: kserve_workload(
                    document, kserve, self._lookup(SERVICE_ACCOUNTS), self._lookup(SECRETS)
                ),
                _kserve_failed,
            )
        resources = [kind.emulated for kind in self._kinds.values()] + [SECRETS, SERVICE_ACCOUNTS]
        self.api = EmulatedKubernetesAPI(resources, operator=self)
        self._kubelet = Kubelet(client, self.id, self._folder / "pods", self._hosts.path, self._lookup(SECRETS))

    @property
    def ingress_url(self) -> str:
        """The ingress's base URL (the emulated API server answers both), for remote_options ingressBaseUrl."""
        return self.api.host

    def write_kubeconfig(self, path: Path) -> Path:
        """A kubeconfig whose current context is this cluster."""
        return self.api.write_kubeconfig(path)

    def containers(self) -> list[Any]:
        """Every container of this cluster's pods, running or not."""
        return list(self.client.containers.list(all=True, filters={"label": f"{POD_LABEL}.cluster={self.id}"}))

    def pod_folders(self) -> list[Path]:
        """The folders (emptyDirs) of the pods that exist now."""
        return sorted((self._folder / "pods").glob("*"))

    def __enter__(self) -> EmulatedCluster:
        self.api.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        try:
            self.api.__exit__(kind, value, traceback)  # stops every pod through stop_all
        finally:
            self._proxy.close()
            shutil.rmtree(self._folder, ignore_errors=True)

    # --- the operators, as the emulated API server calls them --------------------------------------------------

    def operates(self, resource: CustomResource) -> bool:
        """Whether this cluster runs objects of that kind (its operators' kinds)."""
        return _key(resource) in self._kinds

    def applied(self, key: ObjectKey, document: dict[str, Any]) -> None:
        """Run the pod of an applied resource, replacing the one of an older spec."""
        kind = self._kinds[key[:2] + key[3:4]]
        with self._lock:
            running = self._running.get(key)
            if running is not None and running.spec == document.get("spec"):
                return
            self._running.pop(key, None)
        if running is not None:
            self._stop(running)
        fresh = _Running(kind, copy.deepcopy(document.get("spec")), None, None)
        try:
            fresh.workload = kind.workload(document)
        except (UnsupportedResource, KeyError, IndexError, TypeError) as exc:
            fresh.failure = f"the emulated operator cannot run '{key[4]}': {type(exc).__name__}: {exc}"
        if fresh.workload is not None:
            fresh.pod = self._kubelet.start(fresh.workload, self._addresses.take("pod"))
            self._expose(fresh.workload, fresh.pod)
        with self._lock:
            self._running[key] = fresh

    def status(self, key: ObjectKey) -> dict[str, Any] | None:
        """The resource's status as its operator would report it, following its pod."""
        with self._lock:
            running = self._running.get(key)
        if running is None:
            return None
        if running.pod is not None:
            self._kubelet.probe(running.pod)
            running.failure = running.failure or running.pod.failure
        if running.failure is not None:
            return running.kind.failed_status(running.failure)
        ready = running.pod is not None and running.pod.ready
        return copy.deepcopy(running.kind.emulated.ready_status if ready else running.kind.emulated.pending_status)

    def deleted(self, key: ObjectKey) -> None:
        """Stop a deleted resource's pod and remove its Service."""
        with self._lock:
            running = self._running.pop(key, None)
        if running is not None:
            self._stop(running)

    def stop_all(self) -> None:
        """Stop every pod and Service, as deleting the cluster would."""
        with self._lock:
            running = list(self._running.values())
            self._running.clear()
        for item in running:
            self._stop(item)

    def proxy(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes, str] | None:
        """The ingress: a request under a resource's ingress path goes to its Service, without the prefix."""
        with self._lock:
            workloads = [item.workload for item in self._running.values() if item.workload is not None]
        for workload in workloads:
            if path.startswith(workload.ingress_path + "/"):
                address = self._service_addresses.get((workload.namespace, workload.service))
                if address is None:
                    return None
                return _forward(
                    address, workload.service_port, method, path[len(workload.ingress_path) :], headers, body
                )
        return None

    # --- helpers --------------------------------------------------------------------------------------------------

    def _add(self, emulated: EmulatedResource, workload: Callable[[dict[str, Any]], Workload], failed: Any) -> None:
        self._kinds[_key(emulated.resource)] = _Kind(emulated, workload, failed)

    def _lookup(self, emulated: EmulatedResource) -> Callable[[str, str], dict[str, Any] | None]:
        return lambda namespace, name: self.api.objects(emulated.resource, namespace).get(name)

    def _expose(self, workload: Workload, pod: Pod) -> None:
        """The Service of the workload: a stable address, its DNS names, and kube-proxy to the pod's port."""
        service = (workload.namespace, workload.service)
        with self._lock:
            address = self._service_addresses.setdefault(service, self._addresses.take("service"))
        self._hosts.add(workload.service, workload.namespace, address)
        port = workload.container.http_port
        if port is not None:
            self._proxy.route((address, workload.service_port), (pod.address, port))

    def _stop(self, running: _Running) -> None:
        if running.pod is not None:
            self._kubelet.stop(running.pod)
        workload = running.workload
        if workload is not None:
            with self._lock:
                address = self._service_addresses.pop((workload.namespace, workload.service), None)
            if address is not None:
                self._proxy.unroute((address, workload.service_port))
                self._hosts.remove(workload.service, workload.namespace)


def _key(resource: CustomResource) -> tuple[str, str, str]:
    return resource.group, resource.version, resource.plural


def _forward(
    address: str, port: int, method: str, path: str, headers: dict[str, str], body: bytes
) -> tuple[int, bytes, str]:
    connection = http.client.HTTPConnection(address, port, timeout=_INGRESS_TIMEOUT)
    try:
        connection.request(method, path or "/", body=body or None, headers=headers)
        response = connection.getresponse()
        return response.status, response.read(), response.getheader("Content-Type") or "application/octet-stream"
    except OSError as exc:
        return http.client.SERVICE_UNAVAILABLE, f"upstream connect error: {exc}".encode(), "text/plain"
    finally:
        connection.close()
