"""The Docker runtime: each model's server in a container of this machine's engine, a pipeline's children beside it.

Everything it knows lives in the labels of the containers it starts, so another process (or a later one) finds,
waits for and removes exactly what tempo started.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import shutil
import tempfile
import time
from pathlib import Path
from typing import ClassVar

import docker
from docker.models.containers import Container

from tempo_core.errors import DeployError
from tempo_core.files import folder_digest
from tempo_core.model import Servable
from tempo_core.options import RuntimeOptions
from tempo_core.pipeline import children_of, servables_in_order
from tempo_core.processes import exit_cleanly_on_sigterm
from tempo_core.protocol import WireProtocol, protocol_of
from tempo_core.runtime import DeployedModel, Runtime
from tempo_docker.container import (
    CONTAINER_PORT,
    container_args,
    published_endpoint,
    published_grpc_endpoint,
    published_metrics_endpoint,
    spec_digest,
)
from tempo_docker.engine import connect
from tempo_docker.image import ServingImage, find_serving_image
from tempo_docker.labels import (
    FOLDER,
    GRPC_PORT,
    MANAGED,
    METRICS_PORT,
    MODEL,
    NAMESPACE,
    OWNER,
    READY_PATHS,
    SPEC,
    WORKDIR,
    container_name,
    network_name,
    selector,
)
from tempo_docker.network import ensure_network, remove_network_if_unused
from tempo_docker.options import DockerOptions
from tempo_docker.readiness import last_lines, wait_for_server

__all__ = ["DockerRuntime"]

logger = logging.getLogger(__name__)

_WORKDIR_PREFIX = "tempo-docker-"


def _artifact_folder(model: Servable) -> Path:
    if not model.details.local_folder:
        raise DeployError(
            f"model '{model.name}' has no local_folder to mount into its container; set local_folder=... where it "
            "is defined and save it."
        )
    folder = Path(model.details.local_folder).resolve()
    if not folder.is_dir():
        raise DeployError(
            f"model '{model.name}': its local_folder {folder} does not exist; save the model (or put its trained "
            "model files there) before deploying it."
        )
    return folder


def _remove(container: Container) -> None:
    """Remove the container, running or not, and the settings workdir its deploy made."""
    workdir = container.labels.get(WORKDIR, "")
    with contextlib.suppress(docker.errors.NotFound):
        container.remove(force=True)
    if Path(workdir).name.startswith(_WORKDIR_PREFIX):
        shutil.rmtree(workdir, ignore_errors=True)


# What this interpreter deployed without `detach`, to remove when it exits (SIGTERM included: the core
# turns it into a normal exit once a server is started).
_STARTED_HERE: dict[tuple[str, str], DockerRuntime] = {}


@atexit.register
def _remove_started_here() -> None:
    for (_, model_name), runtime in list(_STARTED_HERE.items()):
        with contextlib.suppress(Exception):  # the engine may be gone already; nothing else can be done at exit
            runtime._undeploy_at_exit(model_name)
    _STARTED_HERE.clear()


class DockerRuntime(Runtime):
    """Runs each model's server in a container of this machine's Docker engine, published on 127.0.0.1 only.

    A pipeline's children run in their own containers on a user-defined network, reached by container name.
    """

    name: ClassVar[str] = "docker"
    options_class: ClassVar[type[RuntimeOptions]] = DockerOptions

    def __init__(self, options: RuntimeOptions | None = None) -> None:
        super().__init__(options if options is not None else DockerOptions())
        self._client: docker.DockerClient | None = None

    @property
    def _options(self) -> DockerOptions:
        assert isinstance(self.options, DockerOptions)
        return self.options

    @property
    def client(self) -> docker.DockerClient:
        """The engine's client, connected on first use."""
        if self._client is None:
            self._client = connect()
        return self._client

    @property
    def network(self) -> str:
        """The network the containers join: the one the options name, else ``tempo-<namespace>``."""
        return self._options.network or network_name(self._options.namespace)

    def deploy(self, model: Servable) -> None:
        """Start the model's container, after its children's for a pipeline; a container made from the same spec
        that still runs is kept. On any error, what this deploy started is removed; unless the options say
        `detach`, it is removed too when this interpreter exits."""
        image = find_serving_image(self.client, self._options.image)
        ensure_network(self.client, self.network, self._options.namespace)
        try:
            self._start(model, image, owner=None)
        except BaseException:
            self.undeploy(model)
            raise
        if not self._options.detach:
            _STARTED_HERE[(self._options.namespace, model.name)] = self
            exit_cleanly_on_sigterm()

    def _undeploy_at_exit(self, model_name: str) -> None:
        self._remove_started_by(model_name)
        remove_network_if_unused(self.client, self.network)

    def _start(self, model: Servable, image: ServingImage, owner: str | None) -> None:
        namespace = self._options.namespace
        children: dict[str, str] = {}
        for child in children_of(model):
            self._start(child, image, owner=model.name)
            children[child.name] = f"http://{container_name(namespace, child.name)}:{CONTAINER_PORT}"
        folder = _artifact_folder(model)
        if model.details.platform.is_custom_code:
            image.check_runs(folder, model.name)
        protocol = protocol_of(model)
        spec = spec_digest(
            image_id=image.id,
            artifact=folder_digest(folder),
            options=self._options,
            child_endpoints=children,
            protocol=protocol.name,
        )
        existing = self._find(model.name)
        if existing is not None:
            if existing.status == "running" and existing.labels.get(SPEC) == spec:
                logger.info("Container %s of model '%s' is up to date; keeping it", existing.name, model.name)
                return
            # Whoever started the container it replaces keeps it: a pipeline, or the user on their own.
            owner = existing.labels.get(OWNER)
            _remove(existing)
        container = self._create(model, image, protocol, folder, spec, owner, children)
        try:
            container.start()
        except docker.errors.APIError as exc:
            raise DeployError(
                f"the engine could not start container '{container.name}' of model '{model.name}': "
                f"{exc.explanation}. Check DockerOptions (gpus needs the NVIDIA container toolkit)."
            ) from exc
        logger.info("Started container %s for model '%s'", container.name, model.name)

    def _create(
        self,
        model: Servable,
        image: ServingImage,
        protocol: WireProtocol,
        folder: Path,
        spec: str,
        owner: str | None,
        children: dict[str, str],
    ) -> Container:
        options = self._options
        workdir = Path(tempfile.mkdtemp(prefix=f"{_WORKDIR_PREFIX}{model.name}-")).resolve()
        try:
            launch = protocol.server_launch(
                model,
                folder,
                workdir,
                CONTAINER_PORT,
                options,
                python=image.python,
                child_endpoints=children,
                host="0.0.0.0",  # inside the container; the port is published on the host's 127.0.0.1 only
            )
            labels = {
                **options.labels,
                MANAGED: "true",
                NAMESPACE: options.namespace,
                MODEL: model.name,
                SPEC: spec,
                READY_PATHS: json.dumps(list(launch.ready_paths)),
                **({GRPC_PORT: str(launch.grpc_port)} if launch.grpc_port else {}),
                **({METRICS_PORT: str(launch.metrics_port)} if launch.metrics_port else {}),
                WORKDIR: str(workdir),
                FOLDER: str(folder),
                **({OWNER: owner} if owner else {}),
            }
            name = container_name(options.namespace, model.name)
            args = container_args(
                name=name,
                image=image.id,
                launch=launch,
                artifact_folder=folder,
                network=self.network,
                options=options,
                labels=labels,
            )
            try:
                return self.client.containers.create(**args)
            except docker.errors.APIError as exc:
                raise DeployError(
                    f"the engine could not create container '{name}' of model '{model.name}': {exc.explanation}. "
                    "Check DockerOptions."
                ) from exc
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise

    def _find(self, model_name: str) -> Container | None:
        """The container of `model_name` in this namespace, None if there is none; refuses one tempo did not start."""
        name = container_name(self._options.namespace, model_name)
        try:
            container = self.client.containers.get(name)
        except docker.errors.NotFound:
            return None
        if container.labels.get(MANAGED) != "true":
            raise DeployError(
                f"a container named '{name}' exists that tempo did not start; remove or rename it, or deploy in "
                "another DockerOptions(namespace=...)."
            )
        return container

    def _deployed(self, model_name: str) -> Container:
        container = self._find(model_name)
        if container is None:
            raise DeployError(
                f"model '{model_name}' is not deployed in namespace '{self._options.namespace}' of the Docker "
                "engine; deploy it first."
            )
        return container

    def wait_ready(self, model: Servable, timeout: float | None = None) -> None:
        """Wait for the containers of the model's children and then the model's to answer ready; raise
        ServerNotReadyError with the failing container's last lines."""
        timeout = timeout if timeout is not None else self._options.startup_timeout
        deadline = time.monotonic() + timeout
        for servable in servables_in_order(model):
            container = self._deployed(servable.name)
            ready_paths = json.loads(container.labels[READY_PATHS])
            wait_for_server(container, servable.name, ready_paths, deadline=deadline, timeout=timeout)

    def endpoint(self, model: Servable) -> str:
        """The loopback URL where the model's container is published."""
        container = self._deployed(model.name)
        endpoint = published_endpoint(container)
        if endpoint is None:
            raise DeployError(
                f"the container '{container.name}' of model '{model.name}' is {container.status}, not running; "
                f"deploy it again. Its last lines:\n{last_lines(container)}"
            )
        return endpoint

    def grpc_endpoint(self, model: Servable) -> str | None:
        """The loopback `host:port` where the model's container publishes its gRPC endpoint, if it has one."""
        return published_grpc_endpoint(self._deployed(model.name))

    def metrics_endpoint(self, model: Servable) -> str | None:
        """The loopback URL where the model's container publishes its Prometheus metrics, if it serves them."""
        return published_metrics_endpoint(self._deployed(model.name))

    def undeploy_name(self, name: str) -> None:
        """Remove the container of the model called `name`, the containers its deploy started, and the network once
        no container is left on it; a no-op when nothing runs."""
        _STARTED_HERE.pop((self._options.namespace, name), None)
        self._undeploy_at_exit(name)

    def _remove_started_by(self, model_name: str) -> None:
        owned = self.client.containers.list(all=True, filters=selector(self._options.namespace, {OWNER: model_name}))
        for child in owned:
            self._remove_started_by(child.labels[MODEL])
        try:
            container = self._find(model_name)
        except DeployError:  # a container of that name that tempo did not start: not ours to remove
            return
        if container is not None:
            _remove(container)

    def list(self) -> list[DeployedModel]:
        """The containers tempo started in this namespace, running or not."""
        containers = self.client.containers.list(all=True, filters=selector(self._options.namespace))
        return [
            DeployedModel(
                name=container.labels[MODEL],
                runtime=self.name,
                endpoint=published_endpoint(container) or "",
                grpc_endpoint=published_grpc_endpoint(container),
                metrics_endpoint=published_metrics_endpoint(container),
                status=container.status,
                folder=container.labels.get(FOLDER),
            )
            for container in containers
        ]
