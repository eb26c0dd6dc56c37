"""Runtime options: which runtime runs a model, and how."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:  # the environment package is imported only by what builds environments
    from tempo_core.environment.target import ServerTarget

__all__ = ["BatchingOptions", "ClientOptions", "RequestLogOptions", "RuntimeOptions", "LocalOptions"]


class ClientOptions(BaseModel):
    """How `RemoteModel` calls a deployed model: over which transport, how long to wait, with which headers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    transport: Literal["rest", "grpc"] = Field(
        default="rest", description="REST (HTTP/JSON, or binary tensors where the server takes them) or gRPC."
    )
    timeout: float = Field(default=60.0, gt=0, description="Seconds to wait for each call's answer.")
    headers: dict[str, str] = Field(
        default_factory=dict,
        description="Headers sent with every call (gRPC: as metadata), e.g. an ingress Host or an Authorization token.",
    )
    binary: bool | None = Field(
        default=None,
        description="Send numeric arrays as binary tensor data over REST: None when the server advertises the "
        "extension, True always, False never.",
    )


class BatchingOptions(BaseModel):
    """Adaptive batching of the deployed model's requests (MLServer's): requests that arrive together are joined along
    their first dimension into one call of up to `max_batch_size` rows, waiting at most `max_batch_time` seconds for
    it to fill, and each caller gets its own rows back. It pays where one call of many rows costs much less than many
    calls of one row (vectorised or GPU models) under concurrent load; it adds up to `max_batch_time` to a lone call."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_batch_size: int = Field(ge=2, description="The most requests joined into one call.")
    max_batch_time: float = Field(gt=0, description="Seconds a request waits for others to join it.")


class RequestLogOptions(BaseModel):
    """Send each inference request and response a server answers over REST to `url` as a CloudEvent (binary mode:
    the body as it was, `ce-*` headers as KServe's logger sends them), off the request path: events wait in a queue
    of `queue_size` and are dropped, and counted, when it is full or the sink fails, never delaying or failing a
    prediction. On Seldon Core and KServe the clusters' own loggers send them, with `mode` and `url`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(pattern=r"^https?://", description="Where to POST the events, e.g. http://logger.example.com/.")
    mode: Literal["all", "request", "response"] = Field(default="all", description="Which payloads to send.")
    sample: float = Field(default=1.0, gt=0, le=1, description="The share of requests logged (tempo's servers only).")
    queue_size: int = Field(default=1000, ge=1, description="Events waiting to be sent before new ones are dropped.")


class RuntimeOptions(BaseModel):
    """Base of every runtime's options: a model deployed with them runs on the runtime registered with their class
    as its `options_class` (`LocalOptions` -> the local runtime, `DockerOptions` -> Docker, ...)."""

    model_config = ConfigDict(extra="forbid")

    client: ClientOptions = Field(
        default_factory=ClientOptions, description="How RemoteModel calls the models deployed with these options."
    )
    batching: BatchingOptions | None = Field(
        default=None, description="Adaptive batching of the deployed model's requests (not its children's)."
    )
    request_log: RequestLogOptions | None = Field(
        default=None, description="Send every request and response of the servers these options deploy as CloudEvents."
    )
    # The manifest generator that renders this runtime's resources, for runtimes that apply manifests.
    manifest_target: ClassVar[str | None] = None

    def server_target(self) -> ServerTarget | None:
        """The target a cluster runtime builds environment tarballs for; None when the runtime needs none."""
        return None


class LocalOptions(RuntimeOptions):
    """Options of the embedded local runtime: a server process on this machine's loopback."""

    host: str = "127.0.0.1"
    startup_timeout: float = Field(default=60.0, gt=0, description="Seconds to wait for the server to be ready.")
    parallel_workers: int = Field(
        default=0, ge=0, description="MLServer inference worker processes (0 = in the server)."
    )
    colocate: bool = Field(
        default=True,
        description="Serve a pipeline's children in the pipeline's own server and call them in-process; "
        "children in servers of their own are called over their local channel (a Unix socket), else REST.",
    )
    detach: bool = Field(
        default=False,
        description="Keep the server running after this interpreter exits (as `tempo deploy` does); "
        "stop it with `tempo undeploy NAME`.",
    )
    metrics: bool = Field(
        default=True,
        description="Serve Prometheus metrics (MLServer's metrics server, on a port of its own) beside the model.",
    )
