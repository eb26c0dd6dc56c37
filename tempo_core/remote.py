"""RemoteModel: calling a deployed model over its protocol, with the same result as calling it in-process."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import urllib3

from tempo_core.client import ModelClient
from tempo_core.errors import DeployError, RemoteError
from tempo_core.model import Servable
from tempo_core.options import ClientOptions
from tempo_core.protocol import EncodedRequest, WireProtocol
from tempo_core.runtime import Runtime

__all__ = ["RemoteModel", "ProtocolClient", "error_message"]

DEFAULT_TIMEOUT = 60.0


def _pool(timeout: float, pool_size: int) -> urllib3.PoolManager:
    """Keep-alive connections that retry failed connects only, never a request the server may have run."""
    retry = urllib3.Retry(total=3, connect=3, read=0, status=0, other=0, redirect=0, backoff_factor=0.1)
    return urllib3.PoolManager(num_pools=1, maxsize=pool_size, block=False, retries=retry, timeout=timeout)


class ProtocolClient(ModelClient):
    """Sends a model's calls to one endpoint over its protocol's REST form, on pooled keep-alive connections.

    urllib3 directly rather than requests: half the client latency per call (0.77 ms against 1.48 ms
    for a small V2 request on this machine), which a pipeline pays once per child call.
    """

    def __init__(
        self,
        model: Servable,
        protocol: WireProtocol,
        endpoint: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.model = model
        self.protocol = protocol
        self.endpoint = endpoint.rstrip("/")
        self.timeout = timeout
        self.headers = dict(headers or {})
        self._url = self.endpoint + protocol.infer_path(model.name)
        self._pool = _pool(timeout, pool_size=32)

    def __call__(self, arguments: dict[str, Any], *, timeout: float | None = None) -> Any:
        """Send arguments bound by input name and return the decoded result."""
        request = self.encode(arguments)
        response = self.send("POST", self._url, request.body, request.headers, timeout)
        return self.protocol.decode_response(self.model.signature, response.data, dict(response.headers))

    def encode(self, arguments: dict[str, Any]) -> EncodedRequest:
        """The request body and headers for one call."""
        return self.protocol.encode_request(self.model.signature, arguments)

    def send(
        self, method: str, url: str, body: bytes | None, headers: Mapping[str, str], timeout: float | None = None
    ) -> urllib3.BaseHTTPResponse:
        """One request with the client's headers; anything but a 200 raises `RemoteError` with the server's message."""
        try:
            response = self._pool.request(
                method, url, body=body, headers={**self.headers, **headers}, timeout=timeout or self.timeout
            )
        except urllib3.exceptions.HTTPError as exc:
            raise RemoteError(f"model '{self.model.name}' at {self.endpoint} could not be reached: {exc}") from exc
        if response.status != 200:
            message = error_message(response.data, response.reason)
            raise RemoteError(
                f"model '{self.model.name}' answered {response.status}: {message}", status_code=response.status
            )
        return response

    def metadata(self) -> dict[str, Any]:
        """The server's description of the model, from the protocol's metadata path."""
        path = self.protocol.metadata_path(self.model.name)
        if path is None:
            raise RemoteError(f"model '{self.model.name}': the {self.protocol.name} protocol has no metadata endpoint")
        response = self.send("GET", self.endpoint + path, None, {})
        document: dict[str, Any] = json.loads(response.data)
        return document

    def close(self) -> None:
        """Close the pooled connections."""
        self._pool.clear()


def error_message(data: bytes, reason: str | None = None) -> str:
    """The message in an error response's body (MLServer's `error`, FastAPI's `detail`...), else its text."""
    text = data.decode("utf-8", errors="replace")
    try:
        body = json.loads(text)
    except ValueError:
        return text[:500] or str(reason)
    if isinstance(body, dict):
        for key in ("error", "detail", "message"):
            if key in body:
                return str(body[key])
    return json.dumps(body)[:500]


class RemoteModel:
    """A deployed model: `predict()` calls it over its protocol and returns what an in-process call would.

    Calls go over the transport, with the timeout and headers, of its `ClientOptions` (from the runtime
    options it was deployed with); `with_options(...)` gives a view of the same model with other ones.
    """

    def __init__(
        self,
        model: Servable,
        runtime: Runtime | None,
        protocol: WireProtocol,
        *,
        endpoint: str | None = None,
        grpc_endpoint: str | None = None,
        options: ClientOptions | None = None,
    ) -> None:
        if runtime is None and endpoint is None:
            raise DeployError(f"model '{model.name}': a RemoteModel needs the runtime that serves it or its endpoint")
        self.model = model
        self.runtime = runtime
        self.protocol = protocol
        self.options = options or (runtime.options.client if runtime is not None else ClientOptions())
        self._endpoint = endpoint
        self._grpc_endpoint = grpc_endpoint
        # Clients by transport, shared with the views `with_options` makes.
        self._clients: dict[tuple[str, bool | None, tuple[tuple[str, str], ...]], ModelClient] = {}

    @property
    def name(self) -> str:
        """The deployed model's name."""
        return self.model.name

    @property
    def endpoint(self) -> str:
        """The base URL of the model's server."""
        if self._endpoint is None:
            assert self.runtime is not None
            self._endpoint = self.runtime.endpoint(self.model)
        return self._endpoint

    @property
    def grpc_endpoint(self) -> str | None:
        """The `host:port` of the model server's gRPC endpoint, None where it has none or the runtime cannot say."""
        if self._grpc_endpoint is None and self.runtime is not None:
            self._grpc_endpoint = self.runtime.grpc_endpoint(self.model)
        return self._grpc_endpoint

    @property
    def metrics_endpoint(self) -> str | None:
        """The URL of the model server's Prometheus metrics, None where the runtime serves none this machine reaches."""
        return self.runtime.metrics_endpoint(self.model) if self.runtime is not None else None

    def with_options(self, **changes: Any) -> RemoteModel:
        """The same deployed model called with other `ClientOptions` fields, e.g. `with_options(timeout=2.0)`."""
        view = copy.copy(self)
        view.options = ClientOptions.model_validate({**self.options.model_dump(), **changes})
        return view

    def _get_client(self) -> ModelClient:
        options = self.options
        key = (options.transport, options.binary, tuple(sorted(options.headers.items())))
        client = self._clients.get(key)
        if client is None:
            grpc = self.grpc_endpoint if options.transport == "grpc" else None
            if options.transport == "grpc" and grpc is None:
                raise DeployError(
                    f"model '{self.name}': its runtime reports no gRPC endpoint; call it over REST or attach to it "
                    "with grpc_endpoint='host:port'"
                )
            client = self.protocol.open_client(self.model, self.endpoint, options, grpc_endpoint=grpc)
            self._clients[key] = client
        return client

    def predict(self, *args: Any, **kwargs: Any) -> Any:
        """Call the deployed model with the arguments its in-process call takes."""
        return self._get_client()(self.model.bind_arguments(args, kwargs), timeout=self.options.timeout)

    __call__ = predict

    async def apredict(self, *args: Any, **kwargs: Any) -> Any:
        """`predict`, awaitable: `await asyncio.gather(*(remote.apredict(x) for x in batch))` has the calls in flight
        together, on the client's pooled connections."""
        return await self._get_client().acall(self.model.bind_arguments(args, kwargs), timeout=self.options.timeout)

    def metadata(self) -> dict[str, Any]:
        """What the model's server says about it: name, platform, inputs and outputs with datatypes and shapes."""
        return self._get_client().metadata()

    def wait_ready(self, timeout: float | None = None) -> None:
        """Block until the model's server answers ready."""
        self._runtime("wait for").wait_ready(self.model, timeout)

    def close(self) -> None:
        """Close the connections to the model's server; the model keeps running."""
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    def undeploy(self) -> None:
        """Stop the model's server (and, for a pipeline, the children its deploy started)."""
        runtime = self._runtime("undeploy")
        self.close()
        runtime.undeploy(self.model)

    def _runtime(self, action: str) -> Runtime:
        if self.runtime is None:
            raise DeployError(
                f"model '{self.name}' was attached at {self.endpoint}, not deployed by tempo here; "
                f"{action} it with the runtime that deployed it"
            )
        return self.runtime

    def manifest(self) -> str:
        """The YAML a cluster runtime applies for this model."""
        from tempo_core.api import manifest

        return manifest(self.model, self._runtime("render the manifest of").options)

    def __enter__(self) -> RemoteModel:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self.runtime is None:
            self.close()
        else:
            self.undeploy()

    def __repr__(self) -> str:
        where = self.runtime.name if self.runtime is not None else self.endpoint
        return f"RemoteModel(name={self.name!r}, runtime={where!r})"
