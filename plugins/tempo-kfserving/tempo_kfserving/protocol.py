"""KFServingV2Protocol: the Open Inference Protocol (KServe V2) over REST, served by MLServer."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from tempo_core.client import ModelClient
from tempo_core.errors import DeployError
from tempo_core.model import Servable
from tempo_core.options import ClientOptions, LocalOptions, RuntimeOptions
from tempo_core.processes import free_port
from tempo_core.protocol import EncodedRequest, ServerLaunch, WireProtocol
from tempo_core.signature import Signature
from tempo_kfserving import codec
from tempo_kfserving.channel import CHANNEL_ENV, channel_namespace
from tempo_kfserving.settings import REQUEST_LOG_ENV, write_model_settings, write_server_settings

__all__ = ["KFServingV2Protocol"]

# MLServer's own command with tempo's protocol fixes installed first (tempo_kfserving.server).
_LAUNCHER = "tempo_kfserving.server"


class KFServingV2Protocol(WireProtocol):
    """The Open Inference Protocol: `/v2/models/{name}/infer`, served by MLServer with tempo's runtime."""

    name: ClassVar[str] = "v2"
    server_requirements: ClassVar[tuple[str, ...]] = ("tempo-kfserving",)

    def infer_path(self, model_name: str) -> str:
        """`/v2/models/{name}/infer`."""
        return f"/v2/models/{model_name}/infer"

    def ready_path(self, model_name: str) -> str:
        """`/v2/models/{name}/ready`."""
        return f"/v2/models/{model_name}/ready"

    def metadata_path(self, model_name: str) -> str:
        """`/v2/models/{name}`."""
        return f"/v2/models/{model_name}"

    def open_client(
        self, model: Servable, endpoint: str, options: ClientOptions, *, grpc_endpoint: str | None = None
    ) -> ModelClient:
        """REST (binary tensors where the server takes them) or gRPC (raw tensor contents), as `options` say."""
        if options.transport == "grpc":
            from tempo_kfserving.grpc_client import GrpcClient

            if grpc_endpoint is None:
                raise DeployError(f"model '{model.name}': no gRPC endpoint is known; pass grpc_endpoint='host:port'")
            return GrpcClient(model, grpc_endpoint, timeout=options.timeout, headers=options.headers)
        from tempo_kfserving.rest_client import V2RestClient

        return V2RestClient(
            model, self, endpoint, timeout=options.timeout, headers=options.headers, binary=options.binary
        )

    def encode_request(self, signature: Signature, arguments: dict[str, Any]) -> EncodedRequest:
        """A V2 inference request with one input per signature input."""
        body, headers = codec.encode_request(signature, arguments)
        return EncodedRequest(body, headers)

    def decode_response(self, signature: Signature, body: bytes, headers: dict[str, str]) -> Any:
        """The value the in-process call returns, from a V2 inference response."""
        return codec.decode_response(signature, body, headers)

    def decode_request(self, signature: Signature, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
        """Arguments by input name, from a V2 inference request."""
        return codec.decode_request(signature, body, headers)

    def encode_response(self, signature: Signature, model_name: str, value: Any) -> EncodedRequest:
        """A V2 inference response with one output per signature output."""
        body, headers = codec.encode_response(signature, model_name, value)
        return EncodedRequest(body, headers)

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
        """Write MLServer's settings into `workdir` and start MLServer there with `python`, on `host:port`.

        Co-located children get their own model settings in the same server, and the pipeline calls
        them in-process.
        """
        parallel_workers = options.parallel_workers if isinstance(options, LocalOptions) else 0
        # Inside a container (host 0.0.0.0) any free port does: each container has its own.
        port_host = "127.0.0.1" if host == "0.0.0.0" else host
        grpc_port = free_port(port_host)
        # LocalOptions and DockerOptions say whether to serve metrics; other runtimes' servers keep MLServer's own.
        metrics_port = free_port(port_host) if getattr(options, "metrics", False) else None
        write_server_settings(
            workdir,
            host=host,
            http_port=port,
            grpc_port=grpc_port,
            metrics_port=metrics_port,
            parallel_workers=parallel_workers,
        )
        # Local servers with the models in the server process also answer on the local channel, which
        # pipelines use to call children served on their own.
        channel = isinstance(options, LocalOptions) and parallel_workers == 0
        for child in colocated:
            write_model_settings(workdir, child, Path(child.details.local_folder or ""), {})
        extra = {"child_endpoints": child_endpoints, "colocated": [child.name for child in colocated]}
        write_model_settings(workdir, model, artifact_folder, extra, batching=options.batching)
        return ServerLaunch(
            argv=[python or sys.executable, "-m", _LAUNCHER, "start", str(workdir)],
            workdir=workdir,
            ready_paths=(
                "/v2/health/ready",
                *(self.ready_path(name) for name in (*(child.name for child in colocated), model.name)),
            ),
            # Emptied otherwise: a server with worker processes must not inherit a namespace from its deployer.
            env={
                CHANNEL_ENV: channel_namespace() if channel else "",
                **({REQUEST_LOG_ENV: options.request_log.model_dump_json()} if options.request_log else {}),
            },
            grpc_port=grpc_port,
            metrics_port=metrics_port,
        )
