"""SeldonProtocol: the Seldon Core v1 protocol (`/api/v1.0/predictions`), served by seldon-core's microservice."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from tempo_core.errors import DeployError
from tempo_core.model import Servable
from tempo_core.options import RuntimeOptions
from tempo_core.protocol import EncodedRequest, ServerLaunch, WireProtocol
from tempo_core.signature import Signature
from tempo_seldon import codec
from tempo_seldon.server import MICROSERVICE_ENV, MICROSERVICE_READY_PATH, microservice_argv

__all__ = ["SeldonProtocol"]


class SeldonProtocol(WireProtocol):
    """Seldon Core's v1 protocol: SeldonMessage JSON bodies posted to `/api/v1.0/predictions`.

    Seldon Core's prepackaged servers (SKLEARN_SERVER, XGBOOST_SERVER, MLFLOW_SERVER, TENSORFLOW_SERVER) speak it on
    Kubernetes; on this machine and in Docker, seldon-core's Python microservice serves it (`tempo-seldon[server]`).
    How a signature maps onto a message is in `tempo_seldon.codec`.
    """

    name: ClassVar[str] = "seldon"
    server_requirements: ClassVar[tuple[str, ...]] = ("tempo-seldon[server]", "seldon-core")

    def infer_path(self, model_name: str) -> str:
        """`/api/v1.0/predictions`: a Seldon deployment serves one graph, so the path names no model."""
        return "/api/v1.0/predictions"

    def ready_path(self, model_name: str) -> str:
        """`/ready`, the readiness probe of Seldon Core's executor, in front of every model in a cluster.

        The microservice that serves the model on this machine has no executor in front: `server_launch` names its
        own ready path.
        """
        return "/ready"

    def encode_request(self, signature: Signature, arguments: dict[str, Any]) -> EncodedRequest:
        """A SeldonMessage with the arguments as its payload."""
        return EncodedRequest(codec.encode_request(signature, arguments), dict(codec.JSON_HEADERS))

    def decode_response(self, signature: Signature, body: bytes, headers: dict[str, str]) -> Any:
        """The value the in-process call returns, from a SeldonMessage response."""
        return codec.decode_response(signature, body)

    def decode_request(self, signature: Signature, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
        """Arguments by input name, from a SeldonMessage request."""
        return codec.decode_request(signature, body)

    def encode_response(self, signature: Signature, model_name: str, value: Any) -> EncodedRequest:
        """A SeldonMessage with what the model returned as its payload."""
        return EncodedRequest(codec.encode_response(signature, model_name, value), dict(codec.JSON_HEADERS))

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
        """Start seldon-core's microservice with `python` in `workdir`, serving the model on `port`.

        The microservice serves one model at one path, so a pipeline's children run in servers of their own.
        """
        if colocated:
            raise DeployError(
                f"pipeline '{model.name}' uses the Seldon protocol, whose server serves one model, so its children "
                f"({', '.join(child.name for child in colocated)}) cannot share it; deploy it with "
                "LocalOptions(colocate=False)"
            )
        unsupported = [
            name for name, value in (("batching", options.batching), ("request_log", options.request_log)) if value
        ]
        if unsupported:
            raise DeployError(
                f"model '{model.name}' uses the Seldon protocol, served by seldon-core's microservice, which has no "
                f"{' or '.join(unsupported)}; use the V2 protocol (leave protocol= unset), or drop "
                f"{', '.join(name + '=' for name in unsupported)} from the options"
            )
        return ServerLaunch(
            argv=microservice_argv(
                model, artifact_folder, port, python=python, child_endpoints=child_endpoints, host=host
            ),
            workdir=workdir,
            ready_paths=(MICROSERVICE_READY_PATH,),
            env=dict(MICROSERVICE_ENV),
        )
