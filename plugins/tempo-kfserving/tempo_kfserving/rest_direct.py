"""REST inference requests answered ahead of MLServer's middleware and FastAPI.

MLServer wraps every REST request in its middleware: Prometheus metrics (starlette_exporter), gzip, CORS and error
handling, then FastAPI's routing, body validation and response serialisation. For a small model these cost more than
the answer itself; starlette_exporter alone cost about as much as tempo's codec and the model together. `DirectAnswers`
sits outermost, ahead of Starlette's error middleware too, and answers inference requests itself:

- a model that registered a direct handler (`tempo_kfserving.direct`) answers from the request bytes;
- any other model is served as MLServer's inference endpoint serves it, without FastAPI: the body validated as
  MLServer's `InferenceRequest` (problems worded as tempo's validation handler words FastAPI's), the request headers
  inserted, `DataPlane.infer` (`bookkeeping.infer` where it can stand in for it), and the response written as
  FastAPI writes MLServer's response model.

It does so only where it can do for the request what each layer it skips would have done:

- REST metrics: the request is counted and timed in starlette_exporter's own series, with the labels it would give
  (method, route template, status, app name), and it shows in the in-progress gauge while it runs;
- gzip: the request does not accept gzip, so the middleware would not compress; answers of its minimum size and more
  get the `Vary: Accept-Encoding` it adds;
- error handling: errors are answered in the V2 shape, as MLServer's and tempo's exception handlers answer them;
  an unexpected exception gets uvicorn's plain 500, as it would from Starlette's error middleware without a handler.

Any other middleware between it and MLServer's router (CORS, or one it does not know) makes it step aside for every
request, and so does a request that accepts gzip. Such a request goes through MLServer's stack, where
`rest_conformance.InferenceBodies` answers direct requests from inside and FastAPI the others.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from mlserver.cloudevents import CloudEventsMiddleware
from mlserver.codecs.json import encode_to_json_bytes
from mlserver.errors import MLServerError
from mlserver.handlers import DataPlane
from mlserver.settings import Settings
from mlserver.types import InferenceRequest
from mlserver.utils import extract_headers, insert_headers
from pydantic import ValidationError
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import BaseRoute, Match, Router
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette_exporter import PrometheusMiddleware

from tempo_core.errors import ArgumentError
from tempo_kfserving import bookkeeping, direct
from tempo_kfserving.binary_extension import unpack_binary_request
from tempo_kfserving.codec import HEADER_LENGTH
from tempo_kfserving.mlserver_channel import error_answer
from tempo_kfserving.rest_requests import describe_validation_errors, infer_target, read_body, request_headers

__all__ = ["Answer", "DirectAnswers", "answer_as_mlserver", "answer_directly", "infer_routes", "send_answer"]

# An answer to send: status, body, headers by name, and headers already encoded for HTTP (sent after those).
Answer = tuple[int, bytes, Mapping[str, str], Sequence[tuple[bytes, bytes]]]
_POST = "POST"
_JSON = {"content-type": "application/json"}
_HEADER_LENGTH = HEADER_LENGTH.lower()


def infer_routes(router: Router) -> list[BaseRoute]:
    """The router's inference routes, the only ones a direct answer stands for."""
    return [route for route in router.routes if str(getattr(route, "path", "")).endswith("/infer")]


async def answer_directly(
    data_plane: Any,
    handler: direct.DirectHandler,
    target: tuple[str, str | None],
    body: bytes,
    headers: Mapping[str, str],
    cloud_events: bookkeeping.CloudEventHeaders,
) -> Answer | None:
    """One inference request (its body read, its headers by lower-case name) answered by the model's handler, the
    V2 error shape on failure; None if the handler does not take it."""
    try:
        answered = await direct.answer(data_plane, handler, *target, body, headers, cloud_events=cloud_events)
    except ArgumentError as exc:
        return (*error_answer(400, str(exc)), ())
    except MLServerError as exc:
        return (*error_answer(exc.status_code, str(exc)), ())
    if answered is None:
        return None
    return 200, answered.body, answered.headers, answered.encoded_headers


async def answer_as_mlserver(
    data_plane: DataPlane,
    target: tuple[str, str | None],
    body: bytes,
    headers: Mapping[str, str],
    cloud_events: bookkeeping.CloudEventHeaders | None = None,
) -> tuple[int, bytes, Mapping[str, str]]:
    """One inference request (its body read, its headers by lower-case name) answered as MLServer's inference
    endpoint answers it, without FastAPI: status, body and headers, the V2 error shape on failure. With
    `cloud_events`, the DataPlane's bookkeeping is tempo's (see `bookkeeping.supported_by`)."""
    try:
        payload = inference_request(body, headers)
    except ArgumentError as exc:
        return error_answer(400, str(exc))
    insert_headers(payload, headers)
    try:
        if cloud_events is None:
            response = await data_plane.infer(payload, *target)
        else:
            response = await bookkeeping.infer(data_plane, payload, *target, cloud_events)
    except MLServerError as exc:
        return error_answer(exc.status_code, str(exc))
    response_headers = extract_headers(response) or {}
    content = response.model_dump(mode="json", exclude_unset=True, exclude_none=True)
    return 200, encode_to_json_bytes(content), {**_JSON, **response_headers}


def inference_request(body: bytes, headers: Mapping[str, str]) -> InferenceRequest:
    """A JSON or binary-extension request body as MLServer's `InferenceRequest`, read as FastAPI reads MLServer's
    request body; raises ArgumentError naming what is wrong, as tempo's validation handler does."""
    if _HEADER_LENGTH in headers:
        document = unpack_binary_request(body, headers[_HEADER_LENGTH])
    else:
        try:
            document = orjson.loads(body) if body else None  # as MLServer's request class reads JSON
        except orjson.JSONDecodeError as exc:
            problem = {"type": "json_invalid", "loc": ("body",), "ctx": {"error": exc.msg}}
            raise ArgumentError(describe_validation_errors([problem])) from None
    if document is None:
        missing = {"type": "missing", "loc": ("body",), "msg": "Field required"}
        raise ArgumentError(describe_validation_errors([missing]))
    try:
        return InferenceRequest.model_validate(document, from_attributes=True)  # as FastAPI validates a body
    except ValidationError as exc:
        raise ArgumentError(describe_validation_errors(exc.errors())) from None


async def send_answer(
    send: Send, status: int, body: bytes, headers: Mapping[str, str], encoded: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    """Send one whole response, its headers (then the `encoded` ones) with the body's length, as Starlette's
    Response would."""
    raw = [(key.lower().encode("latin-1"), value.encode("latin-1")) for key, value in headers.items()]
    raw.extend(encoded)
    raw.append((b"content-length", str(len(body)).encode("latin-1")))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


@dataclass
class _StandIns:
    """What the middleware between `DirectAnswers` and the router does that a direct answer must do too."""

    metrics: PrometheusMiddleware | None = None
    gzip: GZipMiddleware | None = None

    @classmethod
    def of(cls, app: ASGIApp, answering: tuple[type, ...]) -> _StandIns | None:
        """The stand-ins for the middleware chain below `app`; None if a middleware there is one it cannot stand in
        for. Middleware of the `answering` classes answer direct requests themselves, as `DirectAnswers` would."""
        found = cls()
        for layer in _chain(app):
            if isinstance(layer, PrometheusMiddleware) and _plain_metrics(layer):
                found.metrics = layer
            elif isinstance(layer, GZipMiddleware):
                found.gzip = layer
            elif not isinstance(layer, (ExceptionMiddleware, *answering)) and not _plain_errors(layer):
                return None
        return found


def _chain(app: ASGIApp) -> Iterator[Any]:
    """The middleware from `app` down to the router (each holds the next as `.app`)."""
    layer: Any = app
    while not isinstance(layer, Router):
        yield layer
        layer = getattr(layer, "app", None)
        if layer is None:
            return


def _plain_errors(layer: Any) -> bool:
    """Whether the layer is Starlette's error middleware with no handler of its own and no debug page: its plain 500
    for an exception is what uvicorn sends for one that reaches it."""
    return isinstance(layer, ServerErrorMiddleware) and layer.handler is None and not layer.debug


def _plain_metrics(exporter: PrometheusMiddleware) -> bool:
    """Whether the exporter records no more than method, route, status and app name (MLServer's configuration)."""
    return (
        exporter.group_paths
        and not exporter.request_labels
        and not exporter.response_labels
        and exporter.exemplars is None
        and not exporter.optional_metrics_list
    )


class DirectAnswers:
    """ASGI middleware, outermost of MLServer's: inference requests answered without MLServer's middleware and
    FastAPI, where the layers it skips would change nothing but what it stands in for."""

    def __init__(
        self, app: ASGIApp, settings: Settings, data_plane: Any, router: Router, answering: tuple[type, ...] = ()
    ) -> None:
        self.app = app
        self._data_plane = data_plane
        self._routes = infer_routes(router)
        self._cloud_events = bookkeeping.CloudEventHeaders(CloudEventsMiddleware(settings))
        self._direct = bookkeeping.supported_by(data_plane)
        self._stand_ins = _StandIns.of(app, answering) if isinstance(data_plane, DataPlane) else None
        self._route_paths: dict[bool, str] = {}
        self._in_progress_gauge: Any = None
        self._labelled: dict[tuple[str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        stand_ins = self._stand_ins
        target = infer_target(scope) if stand_ins is not None else None
        if target is None or stand_ins is None or (stand_ins.gzip is not None and _accepts_gzip(scope)):
            await self.app(scope, receive, send)
            return
        exporter = stand_ins.metrics
        if exporter is None:
            await self._answer(target, scope, receive, send, stand_ins)
            return
        began = time.perf_counter()
        in_progress = self._in_progress(exporter)
        in_progress.inc()
        status = 500  # what starlette_exporter counts for an answer that raised
        try:
            status = await self._answer(target, scope, receive, send, stand_ins)
        finally:
            in_progress.dec()
            count, duration = self._series(exporter, self._route_path(scope, target), status)
            count.inc()
            duration.observe(time.perf_counter() - began)

    async def _answer(
        self, target: tuple[str, str | None], scope: Scope, receive: Receive, send: Send, stand_ins: _StandIns
    ) -> int:
        """Answer the request, by the model's direct handler if it has one that takes it; returns the status sent."""
        try:
            body = await read_body(scope, receive)
        except ArgumentError as exc:
            status, content, headers, encoded = (*error_answer(400, str(exc)), ())
        else:
            status, content, headers, encoded = await self._answered(target, body, request_headers(scope))
        await send_answer(send, status, content, self._varied(headers, content, stand_ins), encoded)
        return status

    async def _answered(self, target: tuple[str, str | None], body: bytes, headers: Mapping[str, str]) -> Answer:
        handler = direct.handler_for(target[0]) if self._direct else None
        if handler is not None:
            answered = await answer_directly(self._data_plane, handler, target, body, headers, self._cloud_events)
            if answered is not None:
                return answered
        cloud_events = self._cloud_events if self._direct else None
        return (*await answer_as_mlserver(self._data_plane, target, body, headers, cloud_events), ())

    def _in_progress(self, exporter: PrometheusMiddleware) -> Any:
        """The exporter's in-progress gauge for inference requests (labelled once: labelling costs microseconds)."""
        if self._in_progress_gauge is None:
            self._in_progress_gauge = exporter.requests_in_progress.labels(_POST, exporter.app_name)
        return self._in_progress_gauge

    def _series(self, exporter: PrometheusMiddleware, path: str, status: int) -> tuple[Any, Any]:
        """The exporter's request counter and duration histogram for one route and status."""
        key = (path, status)
        series = self._labelled.get(key)
        if series is None:
            labels = (_POST, path, status, exporter.app_name)
            series = self._labelled[key] = (
                exporter.request_count.labels(*labels),
                exporter.request_time.labels(*labels),
            )
        return series

    @staticmethod
    def _varied(headers: Mapping[str, str], body: bytes, stand_ins: _StandIns) -> Mapping[str, str]:
        """The headers, with the `Vary` gzip's middleware adds to an answer it could have compressed."""
        if stand_ins.gzip is None or len(body) < stand_ins.gzip.minimum_size:
            return headers
        return {**headers, "Vary": "Accept-Encoding"}

    def _route_path(self, scope: Scope, target: tuple[str, str | None]) -> str:
        """The inference route's template that the request matches, as starlette_exporter labels it; one template
        serves every model, another every versioned model."""
        versioned = target[1] is not None
        path = self._route_paths.get(versioned)
        if path is None:
            matched = [str(route.path) for route in self._routes if route.matches(scope)[0] is Match.FULL]
            if not matched:
                return str(scope["path"])
            path = self._route_paths[versioned] = matched[0]
        return path


def _accepts_gzip(scope: Scope) -> bool:
    return any(key == b"accept-encoding" and b"gzip" in value for key, value in scope["headers"])
