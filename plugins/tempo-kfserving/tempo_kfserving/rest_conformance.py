"""What tempo's MLServer servers do on REST beyond MLServer itself, installed by `tempo_kfserving.server`.

- Malformed requests get the protocol's error shape, 400 `{"error": "..."}` naming the field, where FastAPI
  would answer 422 `{"detail": [...]}`; an inference body is read as JSON whatever its Content-Type says.
- Health and model readiness answer with a JSON body as well as their status, `{"ready": true}` or `{"live": true}`,
  which KServe's REST client reads (MLServer sends an empty body).
- A model that registered a direct handler (tempo's own runtime, see `tempo_kfserving.direct`) answers its
  inference bodies itself, JSON or binary, binary outputs included when asked: ahead of MLServer's middleware where
  `rest_direct.DirectAnswers` can stand in for it, else from inside it.
- The REST binary tensor data extension (a JSON header of `Inference-Header-Content-Length` bytes, then the
  tensors' raw bytes) for any other model: the tensors are unpacked into a JSON request for MLServer.

`InferenceBodies` runs inside MLServer's own middleware (REST metrics, gzip, CORS), so they see its answers.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from mlserver.cloudevents import CloudEventsMiddleware
from mlserver.settings import Settings
from starlette.middleware import Middleware
from starlette.responses import Response
from starlette.routing import Match, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tempo_core.errors import ArgumentError
from tempo_kfserving import bookkeeping, direct
from tempo_kfserving.binary_extension import unpack_binary_request
from tempo_kfserving.mlserver_channel import error_answer
from tempo_kfserving.rest_direct import DirectAnswers, answer_directly, infer_routes, send_answer
from tempo_kfserving.rest_requests import describe_validation_errors, infer_target, read_body, request_headers

__all__ = [
    "install",
]

_HEADER_LENGTH = b"inference-header-content-length"
_JSON = "application/json"


def install() -> None:
    """Make the REST app MLServer builds in this process answer as described above."""
    import mlserver.rest.server

    original = mlserver.rest.server.create_app
    if getattr(original, "tempo_conformant", False):
        return

    signature = inspect.signature(original)

    @functools.wraps(original)
    def create_app(*args: Any, **kwargs: Any) -> FastAPI:
        app: FastAPI = original(*args, **kwargs)
        arguments = signature.bind(*args, **kwargs).arguments
        app.add_exception_handler(RequestValidationError, _validation_error)
        served = {"settings": arguments["settings"], "data_plane": arguments.get("data_plane"), "router": app.router}
        # Innermost of the middleware, where add_middleware would put it outermost.
        app.user_middleware.append(Middleware(InferenceBodies, **served))
        build_stack = app.build_middleware_stack

        def build_with_direct_answers() -> ASGIApp:
            """The app's middleware with the direct answers outermost, ahead of Starlette's error middleware too."""
            return DirectAnswers(build_stack(), **served, answering=(InferenceBodies,))

        app.build_middleware_stack = build_with_direct_answers  # type: ignore[method-assign]
        return app

    create_app.tempo_conformant = True  # type: ignore[attr-defined]
    mlserver.rest.server.create_app = create_app


def error_response(status: int, message: str) -> Response:
    """The V2 error shape: `{"error": message}`."""
    return Response(orjson.dumps({"error": message}), status_code=status, media_type=_JSON)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return error_response(400, describe_validation_errors(exc.errors()))


def _health_key(scope: Scope) -> str | None:
    """The key, "live" or "ready", of the health and model-readiness paths; None for other paths."""
    if scope["type"] != "http" or scope["method"] != "GET":
        return None
    parts = scope["path"].strip("/").split("/")
    if parts in (["v2", "health", "live"], ["v2", "health", "ready"]):
        return parts[2]
    if len(parts) in (4, 6) and parts[:2] == ["v2", "models"] and parts[-1] == "ready":
        return "ready"
    return None


async def _with_health_body(app: ASGIApp, key: str, scope: Scope, receive: Receive, send: Send) -> None:
    """Run `app`; an answer without a body gets `{key: true|false}` by its status."""
    start: Message | None = None

    async def send_with_body(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
            return
        if message["type"] == "http.response.body" and start is not None:
            status, begun = start["status"], start
            start = None
            if not message.get("body") and not message.get("more_body"):
                body = orjson.dumps({key: status == 200})
                headers = _with_headers(
                    begun.get("headers", []),
                    {b"content-type": _JSON.encode(), b"content-length": str(len(body)).encode()},
                )
                await send({**begun, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            await send(begun)
        await send(message)

    await app(scope, receive, send_with_body)


class InferenceBodies:
    """ASGI middleware: inference bodies answered directly by models that registered a handler, read as JSON
    whatever their Content-Type, binary-extension bodies unpacked, and health answers with a body.
    """

    def __init__(self, app: ASGIApp, settings: Settings, data_plane: Any, router: Router) -> None:
        self.app = app
        self._data_plane = data_plane
        self._router = router
        # The routes a direct answer can match, looked up as Starlette's router would look them up.
        self._infer_routes = infer_routes(router)
        self._cloud_events = bookkeeping.CloudEventHeaders(CloudEventsMiddleware(settings))
        self._direct = bookkeeping.supported_by(data_plane)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = infer_target(scope)
        if target is None:
            health = _health_key(scope)
            if health is None:
                await self.app(scope, receive, send)
            else:
                await _with_health_body(self.app, health, scope, receive, send)
            return
        handler = direct.handler_for(target[0]) if self._direct else None
        if handler is not None:
            try:
                body = await read_body(scope, receive)
            except ArgumentError as exc:
                self._route(scope)
                await send_answer(send, *error_answer(400, str(exc)))
                return
            if await self._answer_directly(handler, target, scope, body, send):
                return
            # Not the handler's: MLServer reads the body as it was read here (decompressed).
            new_length = {b"content-length": str(len(body)).encode()}
            scope = {**scope, "headers": _with_headers(scope["headers"], new_length, drop=(b"content-encoding",))}
            receive = _replay(body)
        headers = dict(scope["headers"])
        if _HEADER_LENGTH not in headers:
            if not headers.get(b"content-type", b"").startswith(b"application/json"):
                scope = {**scope, "headers": _with_headers(scope["headers"], {b"content-type": _JSON.encode()})}
            await self.app(scope, receive, send)
            return
        try:
            document = unpack_binary_request(await read_body(scope, receive), headers[_HEADER_LENGTH].decode("latin-1"))
        except ArgumentError as exc:
            await error_response(400, str(exc))(scope, receive, send)
            return
        converted = orjson.dumps(document)
        new_headers = {b"content-type": _JSON.encode(), b"content-length": str(len(converted)).encode()}
        dropped = (_HEADER_LENGTH, b"content-encoding")  # the body is unpacked, and decompressed
        scope = {**scope, "headers": _with_headers(scope["headers"], new_headers, drop=dropped)}
        await self.app(scope, _replay(converted), send)

    async def _answer_directly(
        self, handler: direct.DirectHandler, target: tuple[str, str | None], scope: Scope, body: bytes, send: Send
    ) -> bool:
        """Send the handler's answer, if it takes the request; whether it did."""
        answered = await answer_directly(
            self._data_plane, handler, target, body, request_headers(scope), self._cloud_events
        )
        if answered is None:
            return False
        self._route(scope)
        await send_answer(send, *answered)
        return True

    def _route(self, scope: Scope) -> None:
        """Mark the request routed as Starlette's router marks it, for the middleware outside that reads its route
        (MLServer's REST metrics count requests by route)."""
        for route in self._infer_routes:
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                scope["router"] = self._router
                scope.update(child_scope)
                return


def _with_headers(
    headers: Iterable[tuple[bytes, bytes]], replace: Mapping[bytes, bytes], drop: tuple[bytes, ...] = ()
) -> list[tuple[bytes, bytes]]:
    kept = [(key, value) for key, value in headers if key not in replace and key not in drop]
    return kept + list(replace.items())


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
