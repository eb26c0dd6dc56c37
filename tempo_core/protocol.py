"""The WireProtocol contract: how a call becomes a request, a response becomes a value, and which server speaks it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from tempo_core.signature import Signature

if TYPE_CHECKING:
    from tempo_core.client import ModelClient
    from tempo_core.model import Servable
    from tempo_core.options import ClientOptions, RuntimeOptions

__all__ = ["WireProtocol", "EncodedRequest", "ServerLaunch", "protocol_of"]


@dataclass(frozen=True)
class EncodedRequest:
    """A request body ready to send, with the headers that describe it."""

    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ServerLaunch:
    """How to start a server that speaks a protocol for one saved model.

    `argv` runs in `workdir` with `env` added to the environment; the server listens on the port
    it was given and is ready when every path in `ready_paths` answers 200. `grpc_port` is the port of
    the server's gRPC endpoint on the same host, if it has one; `metrics_port` that of its Prometheus metrics,
    served at `/metrics`.
    """

    argv: list[str]
    workdir: Path
    ready_paths: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    grpc_port: int | None = None
    metrics_port: int | None = None


class WireProtocol(ABC):
    """A wire protocol: the client side (encode a call, decode a response) and the server it needs.

    Implementations are registered by name through `tempo_register_protocols` and must be picklable,
    since a model's protocol is saved with it.
    """

    name: ClassVar[str]
    # Distributions a server speaking this protocol needs beside the model's own; saved environments include them.
    server_requirements: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def infer_path(self, model_name: str) -> str:
        """The URL path, relative to a server's base URL, that runs a prediction."""

    @abstractmethod
    def ready_path(self, model_name: str) -> str:
        """The URL path that answers 200 once `model_name` can serve."""

    def metadata_path(self, model_name: str) -> str | None:
        """The URL path that describes `model_name` (inputs, outputs); None when the protocol has none."""
        return None

    def open_client(
        self, model: Servable, endpoint: str, options: ClientOptions, *, grpc_endpoint: str | None = None
    ) -> ModelClient:
        """A client for `model` deployed at `endpoint` (a base URL) and, where the server has one, `grpc_endpoint`.

        This base speaks the protocol over REST with `encode_request`/`decode_response`; a protocol with other
        transports (gRPC) or smarter encodings overrides it.
        """
        from tempo_core.errors import DeployError
        from tempo_core.remote import ProtocolClient

        if options.transport != "rest":
            raise DeployError(
                f"model '{model.name}': the {self.name} protocol has no {options.transport} transport; "
                "use ClientOptions(transport='rest')"
            )
        return ProtocolClient(model, self, endpoint, timeout=options.timeout, headers=options.headers)

    @abstractmethod
    def encode_request(self, signature: Signature, arguments: dict[str, Any]) -> EncodedRequest:
        """Turn arguments bound by input name into a request body."""

    @abstractmethod
    def decode_response(self, signature: Signature, body: bytes, headers: dict[str, str]) -> Any:
        """Turn a response body into the value the in-process call returns (tuple, dict, str, array...)."""

    @abstractmethod
    def decode_request(self, signature: Signature, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
        """Server side: turn a request body back into arguments by input name."""

    @abstractmethod
    def encode_response(self, signature: Signature, model_name: str, value: Any) -> EncodedRequest:
        """Server side: turn what the model returned into a response body."""

    @abstractmethod
    def server_launch(
        self,
        model: Servable,
        artifact_folder: Path,
        workdir: Path,
        port: int,
        options: RuntimeOptions,
        *,
        python: str,
        child_endpoints: dict[str, str],
        colocated: Sequence[Servable] = (),
        host: str = "127.0.0.1",
    ) -> ServerLaunch:
        """Prepare `workdir` (settings files) and say how `python` starts a server for `model` on `host:port`.

        `child_endpoints` maps a pipeline's children, by model name, to the base URLs where they answer;
        `colocated` lists children to serve in the same server, which the pipeline calls in-process. The
        runtime chooses `host`: loopback on this machine, every interface inside a container.
        """

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and vars(self) == vars(other)

    def __hash__(self) -> int:
        return hash(type(self))


def protocol_of(model: Servable) -> WireProtocol:
    """The model's protocol, or the default one from the installed plugins."""
    if model.protocol is not None:
        return model.protocol
    from tempo_core.plugins import get_plugins  # a model's server has its protocol, and never loads the plugins

    return get_plugins().default_protocol()
