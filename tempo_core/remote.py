"""RemoteModel: calling a deployed model over its protocol, with the same result as calling it in-process."""

from __future__ import annotations

import json
from types import TracebackType
from typing import Any

import urllib3

from tempo_core.errors import RemoteError
from tempo_core.model import Servable
from tempo_core.protocol import Protocol
from tempo_core.runtime import Runtime

__all__ = ["RemoteModel", "ProtocolClient", "error_message"]

DEFAULT_TIMEOUT = 60.0


def _pool(timeout: float, pool_size: int) -> urllib3.PoolManager:
    """Keep-alive connections that retry failed connects only, never a request the server may have run."""
    retry = urllib3.Retry(total=3, connect=3, read=0, status=0, other=0, redirect=0, backoff_factor=0.1)
    return urllib3.PoolManager(num_pools=1, maxsize=pool_size, block=False, retries=retry, timeout=timeout)


class ProtocolClient:
    """Sends a model's calls to one endpoint over its protocol, on pooled keep-alive connections.

    urllib3 directly rather than requests: half the client latency per call (0.77 ms against 1.48 ms
    for a small V2 request on this machine), which a pipeline pays once per child call.
    """

    def __init__(self, model: Servable, protocol: Protocol, endpoint: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.model = model
        self.protocol = protocol
        self.endpoint = endpoint.rstrip("/")
        self.timeout = timeout
        self._url = self.endpoint + protocol.infer_path(model.name)
        self._pool = _pool(timeout, pool_size=32)

    def __call__(self, arguments: dict[str, Any]) -> Any:
        """Send arguments bound by input name and return the decoded result."""
        request = self.protocol.encode_request(self.model.signature, arguments)
        try:
            response = self._pool.request("POST", self._url, body=request.body, headers=request.headers)
        except urllib3.exceptions.HTTPError as exc:
            raise RemoteError(f"model '{self.model.name}' at {self.endpoint} could not be reached: {exc}") from exc
        if response.status != 200:
            message = error_message(response.data, response.reason)
            raise RemoteError(
                f"model '{self.model.name}' answered {response.status}: {message}", status_code=response.status
            )
        return self.protocol.decode_response(self.model.signature, response.data, dict(response.headers))

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
    """A deployed model: `predict()` calls it over its protocol and returns what an in-process call would."""

    def __init__(self, model: Servable, runtime: Runtime, protocol: Protocol) -> None:
        self.model = model
        self.runtime = runtime
        self.protocol = protocol
        self._client: ProtocolClient | None = None

    @property
    def name(self) -> str:
        """The deployed model's name."""
        return self.model.name

    @property
    def endpoint(self) -> str:
        """The base URL of the model's server."""
        return self.runtime.endpoint(self.model)

    def _get_client(self) -> ProtocolClient:
        if self._client is None:
            self._client = ProtocolClient(self.model, self.protocol, self.endpoint)
        return self._client

    def predict(self, *args: Any, **kwargs: Any) -> Any:
        """Call the deployed model with the arguments its in-process call takes."""
        return self._get_client()(self.model.bind_arguments(args, kwargs))

    __call__ = predict

    def wait_ready(self, timeout: float | None = None) -> None:
        """Block until the model's server answers ready."""
        self.runtime.wait_ready(self.model, timeout)

    def undeploy(self) -> None:
        """Stop the model's server (and, for a pipeline, the children its deploy started)."""
        if self._client is not None:
            self._client.close()
            self._client = None
        self.runtime.undeploy(self.model)

    def manifest(self) -> str:
        """The YAML a cluster runtime applies for this model."""
        from tempo_core.api import manifest

        return manifest(self.model, self.runtime.options)

    def __enter__(self) -> RemoteModel:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.undeploy()

    def __repr__(self) -> str:
        return f"RemoteModel(name={self.name!r}, runtime={self.runtime.name!r})"
