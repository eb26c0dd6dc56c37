"""Inference requests a model answers itself, from the raw body, with the bookkeeping MLServer's DataPlane does.

Tempo's runtime registers a handler for each model it loads. The REST middleware (JSON and binary-extension bodies)
and the gRPC servicer (raw contents) hand it the request as bytes instead of building MLServer's pydantic request,
calling `predict` and serialising MLServer's response: that round trip was most of a small request's cost. What
MLServer does around `predict` still happens (`tempo_kfserving.bookkeeping`): the model is looked up and must be
ready, the request runs in the model's context, and MLServer's inference metrics count and time it. A model without
a handler, or an MLServer whose DataPlane the bookkeeping cannot stand in for, is served by MLServer as before.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import NamedTuple

from mlserver.handlers import DataPlane
from mlserver.model import MLModel

from tempo_kfserving import bookkeeping

__all__ = [
    "DirectAnswer",
    "DirectHandler",
    "Takes",
    "answer",
    "handler_for",
    "register_handler",
    "unregister_handler",
]


class DirectAnswer(NamedTuple):
    """A model's answer to one request: the response body, its HTTP headers, and the response's id; headers that
    come already encoded for HTTP (the CloudEvents ones) follow `headers`."""

    body: bytes
    headers: dict[str, str]
    request_id: str
    encoded_headers: Sequence[tuple[bytes, bytes]] = ()


# Called with a V2 request body (JSON or binary extension) and its headers; raises MLServerError when it fails.
DirectHandler = Callable[[bytes, Mapping[str, str]], Awaitable[DirectAnswer]]
# Called with the same before the request is booked: whether the handler answers it, or MLServer serves it.
Takes = Callable[[bytes, Mapping[str, str]], bool]
_handlers: dict[str, DirectHandler] = {}
_takes: dict[str, Takes] = {}
_json_only: set[str] = set()


def register_handler(
    model_name: str, handler: DirectHandler, takes: Takes | None = None, *, binary: bool = True
) -> None:
    """Answer inference requests for `model_name` in this process with `handler`: all of them, or those `takes`
    accepts; with `binary` False, no binary-extension body (as gRPC's raw contents reach it) is offered to it."""
    _handlers[model_name] = handler
    if takes is None:
        _takes.pop(model_name, None)
    else:
        _takes[model_name] = takes
    if binary:
        _json_only.discard(model_name)
    else:
        _json_only.add(model_name)


def unregister_handler(model_name: str, handler: DirectHandler) -> None:
    """Stop answering `model_name`'s requests with `handler`; MLServer serves them again. A handler registered for
    the name since (a reloaded model's, loaded before the old one unloads) stays."""
    if _handlers.get(model_name) == handler:
        del _handlers[model_name]
        _takes.pop(model_name, None)
        _json_only.discard(model_name)


def handler_for(model_name: str, binary: bool = False) -> DirectHandler | None:
    """The handler registered for `model_name` in this process, if any; for a binary-extension body, only one that
    answers such bodies."""
    if binary and model_name in _json_only:
        return None
    return _handlers.get(model_name)


async def answer(
    data_plane: DataPlane,
    handler: DirectHandler,
    model_name: str,
    version: str | None,
    body: bytes,
    headers: Mapping[str, str],
    cloud_events: bookkeeping.CloudEventHeaders | None = None,
) -> DirectAnswer | None:
    """Run `handler` on one request as MLServer's DataPlane runs `predict`: found, ready, in its context, timed and
    counted; None, before anything is counted, for a request the handler does not take (MLServer serves it).

    With `cloud_events` the answer carries the CloudEvents headers MLServer's REST responses have, encoded. Raises
    MLServerError (a model that is missing or not ready, a bad request, a failing model), counted as a failure.
    """
    takes = _takes.get(model_name)
    if takes is not None and not takes(body, headers):
        return None

    async def work(model: MLModel) -> DirectAnswer:
        answered = await handler(body, headers)
        if cloud_events is None:
            return answered
        encoded = cloud_events.encoded_response(model.settings, answered.request_id)
        return DirectAnswer(answered.body, answered.headers, answered.request_id, encoded)

    return await bookkeeping.run(data_plane, model_name, version, work)
