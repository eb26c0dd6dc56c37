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
import json
import struct
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
from tempo_kfserving import direct
from tempo_kfserving.rest_direct import DirectAnswers, answer_directly, infer_routes, send_answer
from tempo_kfserving.rest_requests import infer_target, read_body

__all__ = [
    "install",
    "unpack_binary_request",
]

_HEADER_LENGTH = b"inference-header-content-length"
_JSON = "application/json"
# The raw element layout of each V2 datatype (little-endian), as the extension carries it.
_LAYOUT = {
    "BOOL": "?",
    "UINT8": "B",
    "UINT16": "H",
    "UINT32": "I",
    "UINT64": "Q",
    "INT8": "b",
    "INT16": "h",
    "INT32": "i",
    "INT64": "q",
    "FP16": "e",
    "FP32": "f",
    "FP64": "d",
}
_U32 = struct.Struct("<I")


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
        # Innermost of the middleware, where add_middleware would put it outermost; the direct answers outermost.
        app.user_middleware.append(Middleware(InferenceBodies, **served))
        app.user_middleware.insert(0, Middleware(DirectAnswers, **served, answering=(InferenceBodies,)))
        return app

    create_app.tempo_conformant = True  # type: ignore[attr-defined]
    mlserver.rest.server.create_app = create_app


def error_response(status: int, message: str) -> Response:
    """The V2 error shape: `{"error": message}`."""
    return Response(orjson.dumps({"error": message}), status_code=status, media_type=_JSON)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return error_response(400, describe_validation_errors(exc.errors()))


def describe_validation_errors(errors: Iterable[Mapping[str, Any]]) -> str:
    """One sentence per problem, each naming the field as a path into the body: `inputs[0].datatype: ...`."""
    problems = []
    for error in errors:
        location = [part for part in error.get("loc", ()) if part != "body"]
        if error.get("type") == "json_invalid":
            problems.append(f"the body is not JSON ({error.get('ctx', {}).get('error', error.get('msg'))})")
            continue
        path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in location).lstrip(".")
        message = str(error.get("msg", "is invalid"))
        if error.get("type") != "missing" and "input" in error and not isinstance(error["input"], (dict, list)):
            message += f" (got {error['input']!r})"
        problems.append(f"{path or 'the body'}: {message}")
    return "; ".join(problems) or "the request is invalid"


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
        self._cloud_events = direct.CloudEventHeaders(CloudEventsMiddleware(settings))
        self._direct = direct.supported_by(data_plane)

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
            await self._answer_directly(handler, target, scope, receive, send)
            return
        headers = dict(scope["headers"])
        if _HEADER_LENGTH not in headers:
            if not headers.get(b"content-type", b"").startswith(b"application/json"):
                scope = {**scope, "headers": _with_headers(scope["headers"], {b"content-type": _JSON.encode()})}
            await self.app(scope, receive, send)
            return
        body = await read_body(receive)
        try:
            document = unpack_binary_request(body, headers[_HEADER_LENGTH].decode("latin-1"))
        except ArgumentError as exc:
            await error_response(400, str(exc))(scope, receive, send)
            return
        converted = orjson.dumps(document)
        new_headers = {b"content-type": _JSON.encode(), b"content-length": str(len(converted)).encode()}
        scope = {**scope, "headers": _with_headers(scope["headers"], new_headers, drop=(_HEADER_LENGTH,))}
        await self.app(scope, _replay(converted), send)

    async def _answer_directly(
        self, handler: direct.DirectHandler, target: tuple[str, str | None], scope: Scope, receive: Receive, send: Send
    ) -> None:
        self._route(scope)
        status, body, headers = await answer_directly(
            self._data_plane, handler, target, scope, receive, self._cloud_events
        )
        await send_answer(send, status, body, headers)

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


def unpack_binary_request(body: bytes, header_length: str) -> dict[str, Any]:
    """A binary-extension request as the JSON request it stands for, each tensor's raw bytes unpacked into `data`."""
    try:
        length = int(header_length)
    except ValueError:
        raise ArgumentError(f"Inference-Header-Content-Length is {header_length!r}, not a byte count") from None
    if not 0 < length <= len(body):
        raise ArgumentError(
            f"Inference-Header-Content-Length is {length}, but the body has {len(body)} bytes; "
            "send the JSON header's length"
        )
    try:
        document = json.loads(body[:length])
    except ValueError as exc:
        raise ArgumentError(f"the binary request's JSON header is not JSON ({exc})") from None
    if not isinstance(document, dict) or not isinstance(document.get("inputs"), list):
        raise ArgumentError("the binary request's JSON header needs an `inputs` list")
    offset = length
    for index, tensor in enumerate(document["inputs"]):
        parameters = tensor.get("parameters") if isinstance(tensor, dict) else None
        if not isinstance(parameters, dict) or "binary_data_size" not in parameters:
            continue
        size = parameters.pop("binary_data_size")
        name = tensor.get("name", index)
        if not isinstance(size, int) or size < 0 or offset + size > len(body):
            raise ArgumentError(
                f"input '{name}': binary_data_size is {size!r}, but {len(body) - offset} bytes of binary data are left"
            )
        tensor["data"] = _unpack(tensor, body[offset : offset + size], name)
        offset += size
    if offset != len(body):
        raise ArgumentError(
            f"{len(body) - offset} bytes after the last binary input; binary_data_size must cover the body"
        )
    return document


def _unpack(tensor: dict[str, Any], blob: bytes, name: object) -> list[Any]:
    datatype = tensor.get("datatype")
    if datatype == "BYTES":
        elements, offset = [], 0
        while offset < len(blob):
            if offset + 4 > len(blob):
                raise ArgumentError(f"input '{name}': a BYTES element's 4-byte length is cut off")
            (size,) = _U32.unpack_from(blob, offset)
            offset += 4
            if offset + size > len(blob):
                raise ArgumentError(f"input '{name}': a BYTES element of {size} bytes runs past the tensor's data")
            try:
                elements.append(blob[offset : offset + size].decode())
            except UnicodeDecodeError:
                raise ArgumentError(
                    f"input '{name}': a BYTES element is not UTF-8, which this model's JSON requests cannot carry; "
                    "send it base64-encoded"
                ) from None
            offset += size
        return elements
    layout = _LAYOUT.get(str(datatype))
    if layout is None:
        raise ArgumentError(f"input '{name}': datatype {datatype!r} is not a V2 datatype")
    width = struct.calcsize(layout)
    if len(blob) % width:
        raise ArgumentError(f"input '{name}': {len(blob)} bytes is not a whole number of {datatype} elements")
    return list(struct.unpack(f"<{len(blob) // width}{layout}", blob))
