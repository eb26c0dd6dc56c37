"""KubernetesRuntime: deploy by server-side applying a model's manifests, wait for them, delete them, list them."""

from __future__ import annotations

import time
from abc import abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from tempo_core.errors import DeployError, ServerNotReadyError
from tempo_core.kubernetes.client import ClusterClient, CustomResource
from tempo_core.kubernetes.manifests import is_managed, managed_selector, recorded_children
from tempo_core.kubernetes.options import KubernetesOptions, KubernetesRuntimeOptions
from tempo_core.model import Servable
from tempo_core.options import RuntimeOptions
from tempo_core.pipeline import servables_in_order
from tempo_core.plugins import get_plugins
from tempo_core.runtime import DeployedModel, Runtime

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

__all__ = ["KubernetesRuntime", "ResourceState"]

# Readiness is polled from FIRST_POLL seconds apart, doubling up to MAX_POLL: quick for a model that is
# already up, light on the API server for one that pulls images for minutes.
FIRST_POLL = 0.05
MAX_POLL = 2.0


@dataclass(frozen=True)
class ResourceState:
    """What a resource's status says: ready to serve, failed for good, or neither yet; and how it says it."""

    ready: bool
    failed: bool
    description: str


class KubernetesRuntime(Runtime):
    """Deploys a model (a pipeline with its children) by server-side applying what its manifest generator renders.

    Subclasses name the custom resource they apply, read its status, and say where a model answers.
    """

    resource: ClassVar[CustomResource]

    def __init__(self, options: RuntimeOptions, *, api_client: ApiClient | None = None) -> None:
        if not isinstance(options, KubernetesRuntimeOptions):
            raise DeployError(
                f"the {self.name} runtime takes {self.options_class.__name__}(...), got {type(options).__name__}"
            )
        super().__init__(options)
        self.remote: KubernetesOptions = options.remote_options
        self.client = ClusterClient(self.resource, api_client, context=self.remote.kubeContext)

    @abstractmethod
    def endpoint_for(self, name: str) -> str:
        """The base URL where the model `name` answers: through the ingress if one is set, else in the cluster."""

    @abstractmethod
    def state_of(self, resource: dict[str, Any]) -> ResourceState:
        """Read an applied resource's status."""

    def render(self, model: Servable) -> list[dict[str, Any]]:
        """The resources `deploy` applies, as `tempo_core.manifest()` renders them."""
        target = self.options.manifest_target
        if target is None:
            raise DeployError(f"{type(self.options).__name__} names no manifest target")
        return get_plugins().manifest_generators.get(target)().render(model, self.options)

    def deploy(self, model: Servable) -> None:
        """Server-side apply the model's resources (a pipeline's children first); applying again updates them. If an
        apply fails, the resources this deploy applied before it are deleted again."""
        applied: list[str] = []
        try:
            for document in self.render(model):
                self.client.apply(document)
                applied.append(document["metadata"]["name"])
        except BaseException:
            for name in reversed(applied):
                self.client.delete(self.remote.namespace, name)
            raise

    def wait_ready(self, model: Servable, timeout: float | None = None) -> None:
        """Poll each of the model's resources until its status says it is available; fail fast on a failed one."""
        seconds = timeout if timeout is not None else self.remote.readyTimeout
        deadline = time.monotonic() + seconds
        for servable in servables_in_order(model):
            self._wait_for(servable.name, deadline, seconds)

    def _wait_for(self, name: str, deadline: float, seconds: float) -> None:
        namespace = self.remote.namespace
        where = f"{self.resource.kind} '{name}' in namespace '{namespace}'"
        describe = f"`kubectl describe {self.resource.plural}.{self.resource.group} {name} -n {namespace}`"
        delay = FIRST_POLL
        while True:
            resource = self.client.get(namespace, name)
            if resource is None:
                raise DeployError(f"{where} does not exist; deploy the model first")
            state = self.state_of(resource)
            if state.ready:
                return
            if state.failed:
                raise ServerNotReadyError(f"{where} failed: {state.description}; {describe} shows why")
            if time.monotonic() + delay > deadline:
                raise ServerNotReadyError(
                    f"{where} was not available after {seconds:g} s (its status: {state.description}); {describe} "
                    "shows why, and remote_options readyTimeout gives a slow start more time"
                )
            time.sleep(delay)
            delay = min(delay * 2, MAX_POLL)

    def endpoint(self, model: Servable) -> str:
        """The base URL where the model answers (see `endpoint_for`)."""
        return self.endpoint_for(model.name)

    def undeploy_name(self, name: str) -> None:
        """Delete the resource of the model called `name` and then, for a pipeline, its children's, named by its
        `tempo.io/children` annotation; resources already gone, or not applied by tempo, are skipped."""
        namespace = self.remote.namespace
        resource = self.client.get(namespace, name)
        if resource is None or not is_managed(resource):
            return
        self.client.delete(namespace, name)
        for child in reversed(recorded_children(resource)):
            self.undeploy_name(child)

    def list(self) -> list[DeployedModel]:
        """The resources tempo applied in the namespace, found by their `app.kubernetes.io/managed-by` label."""
        return [
            DeployedModel(
                name=resource["metadata"]["name"],
                runtime=self.name,
                endpoint=self.endpoint_for(resource["metadata"]["name"]),
                status=self.state_of(resource).description,
            )
            for resource in self.client.list(self.remote.namespace, managed_selector())
        ]
