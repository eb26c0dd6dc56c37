"""Inference requests a model answers itself, from the raw body, with the bookkeeping MLServer's DataPlane does.

Tempo's runtime registers a handler for each model it loads. The REST middleware (JSON and binary-extension bodies)
and the gRPC servicer (raw contents) hand it the request as bytes instead of building MLServer's pydantic request,
calling `predict` and serialising MLServer's response: that round trip was most of a small request's cost. What
MLServer does around `predict` still happens: the model is looked up and must be ready, the request runs in the
model's context (custom metrics), and `model_infer_request_success`, `_failure` and `_duration` count it. A model
without a handler, or an MLServer whose DataPlane lacks that bookkeeping or caches responses, is served by MLServer as
before.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, NamedTuple

from mlserver.cloudevents import CloudEventsMiddleware
from mlserver.handlers import DataPlane
from mlserver.settings import ModelSettings
from mlserver.types import InferenceResponse
from mlserver.utils import extract_headers

__all__ = [
    "CloudEventHeaders",
    "DirectAnswer",
    "DirectHandler",
    "answer",
    "handler_for",
    "register_handler",
    "supported_by",
    "unregister_handler",
]


class DirectAnswer(NamedTuple):
    """A model's answer to one request: the response body, its HTTP headers, and the response's id."""

    body: bytes
    headers: dict[str, str]
    request_id: str


# Called with a V2 request body (JSON or binary extension) and its headers; raises MLServerError when it fails.
DirectHandler = Callable[[bytes, Mapping[str, str]], Awaitable[DirectAnswer]]
_handlers: dict[str, DirectHandler] = {}


def register_handler(model_name: str, handler: DirectHandler) -> None:
    """Answer inference requests for `model_name` in this process with `handler`."""
    _handlers[model_name] = handler


def unregister_handler(model_name: str) -> None:
    """Stop answering `model_name`'s requests directly; MLServer serves them again."""
    _handlers.pop(model_name, None)


def handler_for(model_name: str) -> DirectHandler | None:
    """The handler registered for `model_name` in this process, if any."""
    return _handlers.get(model_name)


def supported_by(data_plane: Any) -> bool:
    """Whether `data_plane` keeps the bookkeeping `answer` runs a handler in, and no response cache that requests
    must reach (it answers from what `predict` returned before)."""
    return (
        isinstance(data_plane, DataPlane)
        and hasattr(data_plane, "_infer_contextmanager")
        and getattr(data_plane, "_response_cache", None) is None
    )


class CloudEventHeaders:
    """The CloudEvents headers MLServer's REST responses carry, asked of its middleware once per model: per answer
    only the response's id changes (MLServer's middleware costs more than a small model's whole answer)."""

    _PLACEHOLDER = "tempo-response-id"

    def __init__(self, middleware: CloudEventsMiddleware) -> None:
        self._middleware = middleware
        # By model name: the settings the headers were worked out for (a reloaded model has new ones), and them.
        self._templates: dict[str, tuple[ModelSettings, dict[str, str]]] = {}

    def of(self, settings: ModelSettings, response_id: str) -> dict[str, str]:
        """The headers of a response with `response_id` from the model with `settings`."""
        known = self._templates.get(settings.name)
        if known is None or known[0] is not settings:
            stub = InferenceResponse.model_construct(model_name=settings.name, id=self._PLACEHOLDER, outputs=[])
            known = (settings, extract_headers(self._middleware.response_middleware(stub, settings)) or {})
            self._templates[settings.name] = known
        return {key: response_id if value == self._PLACEHOLDER else value for key, value in known[1].items()}


async def answer(
    data_plane: DataPlane,
    handler: DirectHandler,
    model_name: str,
    version: str | None,
    body: bytes,
    headers: Mapping[str, str],
    cloud_events: CloudEventHeaders | None = None,
) -> DirectAnswer:
    """Run `handler` on one request as MLServer's DataPlane runs `predict`: found, ready, in its context, counted.

    With `cloud_events` the answer carries the CloudEvents headers MLServer's REST responses have. Raises
    MLServerError (a model that is not ready, a bad request, a failing model), counted as a failure.
    """
    async with data_plane._infer_contextmanager(model_name, version) as model:
        answered = await handler(body, headers)
    if cloud_events is not None:
        answered.headers.update(cloud_events.of(model.settings, answered.request_id))
    return answered
