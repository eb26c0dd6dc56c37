"""The Runtime contract: run a model's server somewhere, find it, and stop it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel

from tempo_core.options import RuntimeOptions

if TYPE_CHECKING:
    from tempo_core.model import Servable

__all__ = ["Runtime", "DeployedModel"]


class DeployedModel(BaseModel):
    """One model a runtime is serving, as `list()` reports it."""

    name: str
    runtime: str
    endpoint: str
    status: str
    # The model's saved artifact on this machine, where the runtime knows it: `tempo predict NAME` reads
    # the model's signature there.
    folder: str | None = None
    # The `host:port` of the server's gRPC endpoint, where it has one.
    grpc_endpoint: str | None = None
    # The URL of the server's Prometheus metrics, where this machine can scrape them.
    metrics_endpoint: str | None = None


class Runtime(ABC):
    """Runs servers for saved models: locally, in containers, or on a cluster.

    Implementations are registered by name through `tempo_register_runtimes`, with the options class users pass to
    `deploy()` as `options_class`: `deploy(model, options)` runs on the runtime whose options class `options` is.
    """

    name: ClassVar[str]
    options_class: ClassVar[type[RuntimeOptions]]
    # Other names the command line's `--runtime` accepts for this runtime, e.g. ("seldon",).
    aliases: ClassVar[tuple[str, ...]] = ()

    def __init__(self, options: RuntimeOptions) -> None:
        self.options = options

    @abstractmethod
    def deploy(self, model: Servable) -> None:
        """Start serving a saved model (and, for a pipeline, its children); idempotent for a running model.

        When it raises, it has removed what it started: nothing is left half-deployed."""

    @abstractmethod
    def wait_ready(self, model: Servable, timeout: float | None = None) -> None:
        """Block until the model answers its ready endpoint; raise ServerNotReadyError naming it if not.

        It stops nothing: `tempo_core.deploy` undeploys a model that does not become ready."""

    @abstractmethod
    def endpoint(self, model: Servable) -> str:
        """The base URL where the model's server answers."""

    def grpc_endpoint(self, model: Servable) -> str | None:
        """The `host:port` where the model's server answers gRPC; None where it has none or the runtime cannot say."""
        return None

    def metrics_endpoint(self, model: Servable) -> str | None:
        """The URL of the model server's Prometheus metrics; None where it serves none this machine can reach."""
        return None

    @abstractmethod
    def undeploy_name(self, name: str) -> None:
        """Stop serving the model called `name` and remove everything its deploy started (a pipeline's children),
        found from what the runtime recorded, not from the model's code; a no-op if nothing runs."""

    def undeploy(self, model: Servable) -> None:
        """Stop serving the model and remove everything its deploy started; a no-op if nothing runs."""
        self.undeploy_name(model.name)

    @abstractmethod
    def list(self) -> list[DeployedModel]:
        """The models this runtime started and still serves."""
