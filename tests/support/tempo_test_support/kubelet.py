"""Running an emulated operator's pods for real, in containers of the test's Docker engine, as a kubelet would.

A pod gets an emptyDir (a fresh folder on this machine, mode 0777 as Kubernetes makes them) mounted at /mnt/models:
read-write in its init containers (the storage initializer downloads the artifact into it), read-only in its
server container. Every container uses the host's network with the cluster's hosts file as /etc/hosts
(tempo_test_support.network); the server binds its pod's own loopback address through `MLSERVER_HOST`, which a
real pod would not need (it has its own network namespace; this is the one env var the emulation adds). Images are
pulled only when the engine lacks them (imagePullPolicy IfNotPresent), so an image tempo pushed to the loopback
registry and removed locally is pulled from that registry. Server containers run as user 1000, as a cluster that
forbids root does. The pod is ready when its readiness probe (HTTP GET on the server's port) answers 200 on two
probes at least a second apart, as the kubelet's periodic probes would see it (MLServer answers its health check
while a model that will fail is still loading, then exits), and failed when an init container exits non-zero, an
image cannot be pulled, a Secret it names is missing, or the server exits, before or after it was ready; each
failure carries the container's last log lines.

Not emulated: restarts and back-off (a failed pod stays failed), resource limits, liveness probes, service
account tokens, and the pod's own network namespace.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import logging
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import requests
from docker.models.containers import Container
from docker.types import Mount

from tempo_test_support.operators import MODEL_MOUNT, ContainerSpec, Workload

__all__ = ["Kubelet", "Pod", "PodFailed", "POD_LABEL"]

logger = logging.getLogger(__name__)

POD_LABEL = "io.tempo.test.pod"
SERVER_USER = "1000"
_LOG_LINES = 20
# A line that says what went wrong: an exception's last line, or a shell's or a server's error message.
_ERROR = re.compile(r"^\w*(Error|Exception)\b|\bERROR\b|: (command )?not found|No such file")
_PROBE_SECONDS = 0.5
# How long the probe must keep answering 200 before the pod is ready.
_READY_AFTER_SECONDS = 1.0
_INIT_TIMEOUT = 300

SecretLookup = Callable[[str, str], dict[str, Any] | None]  # (namespace, name) -> the Secret


class PodFailed(Exception):
    """A pod that cannot run: the message says which container and why, with its last log lines."""


@dataclass
class Pod:
    """One running (or failed) pod: its address, folders, containers and state."""

    workload: Workload
    address: str
    folder: Path
    containers: list[Container] = field(default_factory=list)
    created: float = field(default_factory=time.monotonic)
    server_started: float | None = None
    # When the readiness probe first answered 200 in the run of answers that is going on.
    answering_since: float | None = None
    ready: bool = False
    failure: str | None = None
    stopped: threading.Event = field(default_factory=threading.Event)


class Kubelet:
    """Starts, probes and stops pods on a Docker engine; every container it makes carries `POD_LABEL=<cluster id>`."""

    def __init__(
        self, client: docker.DockerClient, cluster_id: str, folder: Path, hosts_file: Path, secrets: SecretLookup
    ) -> None:
        self.client = client
        self.cluster_id = cluster_id
        self.folder = folder  # the pods' folders live here
        self.hosts_file = hosts_file
        self.secrets = secrets

    def start(self, workload: Workload, address: str) -> Pod:
        """Create the pod's folder and run it in a background thread: init containers in order, then the server."""
        self.folder.mkdir(exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix=f"{workload.namespace}-{workload.name}-", dir=self.folder))
        models = folder / "models"
        models.mkdir()
        models.chmod(0o777)
        pod = Pod(workload, address, folder)
        threading.Thread(target=self._run, args=(pod,), name=f"pod-{workload.name}", daemon=True).start()
        return pod

    def probe(self, pod: Pod) -> None:
        """Update `pod.ready` / `pod.failure` from its readiness probe and its server container's state."""
        if pod.failure is not None or len(pod.containers) <= len(pod.workload.init_containers):
            return
        server = pod.containers[-1]
        with contextlib.suppress(docker.errors.NotFound):
            server.reload()
            if server.status in ("exited", "dead"):
                pod.ready = False
                pod.failure = _failed(pod.workload.container, server, "exited")
                return
        spec = pod.workload.container
        if pod.ready or spec.http_port is None:
            return
        if not _answers(pod.address, spec.http_port, spec.readiness_path or "/"):
            pod.answering_since = None
            return
        now = time.monotonic()
        if pod.answering_since is None:
            pod.answering_since = now
        if now - pod.answering_since >= _READY_AFTER_SECONDS:
            pod.ready = True
            started = pod.server_started or pod.created
            logger.info(
                "pod of '%s' ready: init containers %.1f s, then its server (%s) %.1f s from start to ready",
                pod.workload.name,
                started - pod.created,
                spec.image,
                time.monotonic() - started,
            )

    def stop(self, pod: Pod) -> None:
        """Remove the pod's containers and folder (its init thread stops starting new ones)."""
        pod.stopped.set()
        for container in list(pod.containers):
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True)
        for leftover in self.client.containers.list(all=True, filters={"label": f"{POD_LABEL}={self._pod_id(pod)}"}):
            with contextlib.suppress(docker.errors.NotFound):
                leftover.remove(force=True)
        shutil.rmtree(pod.folder, ignore_errors=True)

    def _pod_id(self, pod: Pod) -> str:
        return f"{self.cluster_id}.{pod.workload.namespace}.{pod.workload.name}.{pod.folder.name}"

    def _run(self, pod: Pod) -> None:
        try:
            for spec in pod.workload.init_containers:
                container = self._container(pod, spec, read_only=False)
                status = container.wait(timeout=_INIT_TIMEOUT)["StatusCode"]
                if status != 0:
                    raise PodFailed(_failed(spec, container, f"Init:Error (exit code {status})"))
            if not pod.stopped.is_set():
                pod.server_started = time.monotonic()
                self._container(pod, pod.workload.container, read_only=True)
        except PodFailed as exc:
            pod.failure = str(exc)
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:  # a wait that timed out
            if not pod.stopped.is_set():
                pod.failure = f"pod of '{pod.workload.name}': {type(exc).__name__}: {exc}"

    def _container(self, pod: Pod, spec: ContainerSpec, *, read_only: bool) -> Container:
        """Create and start one container of the pod."""
        if pod.stopped.is_set():
            raise PodFailed(f"pod of '{pod.workload.name}' was deleted")
        self._pull_if_missing(spec.image)
        env = {**self._secret_env(pod.workload.namespace, spec), **spec.env}
        server = spec is pod.workload.container
        if server:
            env["MLSERVER_HOST"] = pod.address
        container = self.client.containers.create(
            spec.image,
            command=list(spec.args) or None,
            entrypoint=list(spec.command) if spec.command else None,
            environment=env,
            user=SERVER_USER if server else spec.user or "",
            network_mode="host",
            mounts=[
                Mount(MODEL_MOUNT, str(pod.folder / "models"), type="bind", read_only=read_only),
                Mount("/etc/hosts", str(self.hosts_file), type="bind", read_only=True),
            ],
            labels={POD_LABEL: self._pod_id(pod), f"{POD_LABEL}.cluster": self.cluster_id},
            name=f"{self.cluster_id}-{pod.workload.namespace}-{pod.workload.name}-{spec.name}"[:200],
        )
        pod.containers.append(container)
        if pod.stopped.is_set():  # deleted while this container was being created: `stop` may have missed it
            container.remove(force=True)
            raise PodFailed(f"pod of '{pod.workload.name}' was deleted")
        container.start()
        return container

    def _pull_if_missing(self, image: str) -> None:
        try:
            self.client.images.get(image)
        except docker.errors.ImageNotFound:
            try:
                self.client.images.pull(image)
            except docker.errors.APIError as exc:
                raise PodFailed(
                    f"ErrImagePull: image {image!r} is not on the engine and cannot be pulled: {exc}"
                ) from exc

    def _secret_env(self, namespace: str, spec: ContainerSpec) -> dict[str, str]:
        """The env a container takes from Secrets (envFrom and secretKeyRef); a missing Secret fails the pod."""
        env: dict[str, str] = {}
        for name in spec.env_from_secrets:
            env.update(self._secret_data(namespace, name, spec))
        for variable, (name, key) in spec.secret_env.items():
            data = self._secret_data(namespace, name, spec)
            if key not in data:
                raise PodFailed(f"CreateContainerConfigError: container {spec.name}: Secret {name} has no key {key}")
            env[variable] = data[key]
        return env

    def _secret_data(self, namespace: str, name: str, spec: ContainerSpec) -> dict[str, str]:
        secret = self.secrets(namespace, name)
        if secret is None:
            raise PodFailed(f"CreateContainerConfigError: container {spec.name}: secret {name!r} not found")
        data = {key: base64.b64decode(value).decode() for key, value in (secret.get("data") or {}).items()}
        return {**data, **(secret.get("stringData") or {})}


def _failed(spec: ContainerSpec, container: Container, state: str) -> str:
    """What a failed container says: its first error line (a server's shutdown noise follows it) and its last lines."""
    try:
        lines = container.logs().decode(errors="replace").strip().splitlines()
    except docker.errors.DockerException:
        lines = ["(no logs)"]
    errors = [line for line in lines if _ERROR.search(line)]
    first = f"; its first error: {errors[0].strip()}" if errors else ""
    tail = "\n".join(lines[-_LOG_LINES:])
    return f"container {spec.name} (image {spec.image}) {state}{first}; its last lines:\n{tail}"


def _answers(address: str, port: int, path: str) -> bool:
    connection = http.client.HTTPConnection(address, port, timeout=_PROBE_SECONDS)
    try:
        connection.request("GET", path)
        return connection.getresponse().status == http.client.OK
    except OSError:
        return False
    finally:
        connection.close()
