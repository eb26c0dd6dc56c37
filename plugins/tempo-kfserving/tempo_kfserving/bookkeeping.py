"""What MLServer's DataPlane does around a model's `predict`, done by tempo at a fraction of its cost.

MLServer 1.7 runs every inference request in a context manager that labels three metric series (per request: the
labelling alone cost more than a small model's answer), looks the model up, checks that it is ready, sets the model's
context (custom metrics read it) and counts the request as a success or failure and times it. It then asks its
CloudEvents middleware for the request's and the response's headers, which it works out afresh for every request.
`run` does the same with the series labelled once per model, and `CloudEventHeaders` works the headers out once per
model: per request only the id changes. `infer` is DataPlane.infer built on them, for a DataPlane that
`supported_by` accepts: one with those series, CloudEvents as its only inference middleware and no response cache
(which must see every request). Any other DataPlane serves requests itself, as before.
"""

from __future__ import annotations

import random
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple, TypeVar

from mlserver.cloudevents import CloudEventsMiddleware
from mlserver.context import model_name_var, model_version_var
from mlserver.errors import ModelNotReady
from mlserver.handlers import DataPlane
from mlserver.middleware import InferenceMiddlewares
from mlserver.model import MLModel
from mlserver.settings import ModelSettings
from mlserver.types import InferenceRequest, InferenceResponse, Parameters

__all__ = ["CloudEventHeaders", "infer", "new_request_id", "run", "supported_by"]

Result = TypeVar("Result")
_SERIES = ("_ModelInferRequestDuration", "_ModelInferRequestFailure", "_ModelInferRequestSuccess")
# A version-4 UUID's fixed bits: version 4 in bits 76-79, the RFC 4122 variant in bits 62-63.
_UUID4_KEPT = ~(0xF000 << 64 | 0xC000 << 48) & ((1 << 128) - 1)
_UUID4_SET = 0x4000 << 64 | 0x8000 << 48


def new_request_id() -> str:
    """A random version-4 UUID as text, the id MLServer gives a request that has none; drawn from Python's PRNG
    (an id must be unique, not secret), at a quarter of `uuid.uuid4`'s cost."""
    digits = f"{random.getrandbits(128) & _UUID4_KEPT | _UUID4_SET:032x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


# Whether `supported_by` accepts each DataPlane it was asked about.
_supported: weakref.WeakKeyDictionary[DataPlane, bool] = weakref.WeakKeyDictionary()


def supported_by(data_plane: Any) -> bool:
    """Whether `run` and `infer` can stand in for `data_plane`'s own bookkeeping: it keeps the model registry and
    metric series they book a request in, CloudEvents is its only inference middleware, and it has no response cache
    that requests must reach (it answers from what `predict` returned before). Worked out once per DataPlane (gRPC
    asks on every request), whose parts are set when it is made."""
    if not isinstance(data_plane, DataPlane):
        return False
    known = _supported.get(data_plane)
    if known is None:
        middleware = getattr(data_plane, "_inference_middleware", None)
        known = _supported[data_plane] = (
            getattr(data_plane, "_response_cache", None) is None
            and all(hasattr(data_plane, name) for name in (*_SERIES, "_model_registry"))
            and type(middleware) is InferenceMiddlewares
            and [type(each) for each in getattr(middleware, "_middlewares", ())] == [CloudEventsMiddleware]
        )
    return known


class _ModelSeries(NamedTuple):
    """One model version's children of the DataPlane's inference metrics."""

    duration: Any
    failure: Any
    success: Any


# Per DataPlane, by model name and version as requested.
_labelled: weakref.WeakKeyDictionary[DataPlane, dict[tuple[str, str | None], _ModelSeries]] = (
    weakref.WeakKeyDictionary()
)


def _series(data_plane: DataPlane, model_name: str, version: str | None) -> _ModelSeries:
    """The DataPlane's metric series for requests to `model_name` and `version`, labelled as it labels them."""
    known = _labelled.get(data_plane)
    if known is None:  # a WeakKeyDictionary's setdefault makes a new weak reference on every call
        known = _labelled[data_plane] = {}
    series = known.get((model_name, version))
    if series is None:
        metrics = (getattr(data_plane, name).labels(model=model_name, version=version) for name in _SERIES)
        series = known[(model_name, version)] = _ModelSeries(*metrics)
    return series


async def run(
    data_plane: DataPlane, model_name: str, version: str | None, work: Callable[[MLModel], Awaitable[Result]]
) -> Result:
    """Await `work` on the model as MLServer's DataPlane awaits `predict`: found, ready, in the model's context,
    timed, and counted as a success or (whatever it raises, MLServer's errors for a missing or unready model
    included) a failure."""
    began = time.perf_counter()
    series = _series(data_plane, model_name, version)
    try:
        model = await data_plane._model_registry.get_model(model_name, version)
        if not model.ready:
            raise ModelNotReady(model_name, version)
        name_token = model_name_var.set(model.settings.name)
        version_token = model_version_var.set(model.settings.version or "")
        try:
            result = await work(model)
        finally:
            model_name_var.reset(name_token)
            model_version_var.reset(version_token)
    except Exception:
        series.failure.inc()
        raise
    finally:
        series.duration.observe(time.perf_counter() - began)
    series.success.inc()
    return result


class _Templates(NamedTuple):
    """One model's CloudEvents headers with the message id left out, as MLServer's middleware worked them out."""

    settings: ModelSettings  # what they were worked out for (a reloaded model has new settings)
    request: dict[str, str]
    response: dict[str, str]
    encoded_response: list[tuple[bytes, bytes]]  # the response's, as HTTP sends them
    id_positions: list[int]  # where the message id goes in `encoded_response`


class CloudEventHeaders:
    """The CloudEvents headers MLServer's middleware gives requests and responses, worked out by it once per model:
    per message only the id changes."""

    _PLACEHOLDER = "tempo-message-id"

    def __init__(self, middleware: CloudEventsMiddleware) -> None:
        self._middleware = middleware
        self._templates: dict[str, _Templates] = {}  # by model name

    def request(self, settings: ModelSettings, request_id: str) -> dict[str, str]:
        """The headers of a request with `request_id` to the model with `settings`."""
        return self._filled(self._template(settings).request, request_id)

    def response(self, settings: ModelSettings, response_id: str) -> dict[str, str]:
        """The headers of a response with `response_id` from the model with `settings`."""
        return self._filled(self._template(settings).response, response_id)

    def encoded_response(self, settings: ModelSettings, response_id: str) -> list[tuple[bytes, bytes]]:
        """The same as `response`, encoded as HTTP sends them (lower-case names, Latin-1): a REST answer's headers
        without encoding each of them on every request."""
        template = self._template(settings)
        encoded = template.encoded_response.copy()
        value = response_id.encode("latin-1")
        for position in template.id_positions:
            encoded[position] = (encoded[position][0], value)
        return encoded

    def _template(self, settings: ModelSettings) -> _Templates:
        known = self._templates.get(settings.name)
        if known is None or known.settings is not settings:
            request = InferenceRequest.model_construct(id=self._PLACEHOLDER, inputs=[])
            response = InferenceResponse.model_construct(model_name=settings.name, id=self._PLACEHOLDER, outputs=[])
            response_headers = _headers_of(self._middleware.response_middleware(response, settings))
            encoded = [
                (key.lower().encode("latin-1"), value.encode("latin-1")) for key, value in response_headers.items()
            ]
            known = self._templates[settings.name] = _Templates(
                settings,
                _headers_of(self._middleware.request_middleware(request, settings)),
                response_headers,
                encoded,
                [index for index, value in enumerate(response_headers.values()) if value == self._PLACEHOLDER],
            )
        return known

    def _filled(self, template: dict[str, str], message_id: str) -> dict[str, str]:
        return {key: message_id if value == self._PLACEHOLDER else value for key, value in template.items()}


def _headers_of(message: InferenceRequest | InferenceResponse) -> dict[str, str]:
    return message.parameters.headers if message.parameters and message.parameters.headers else {}


def _add_headers(message: InferenceRequest | InferenceResponse, headers: dict[str, str]) -> None:
    """Add `headers` to the message's `parameters.headers`, as MLServer's middleware adds its own."""
    if message.parameters is None:
        message.parameters = Parameters(headers=headers)
    elif message.parameters.headers is None:
        message.parameters.headers = headers
    else:
        message.parameters.headers.update(headers)


async def infer(
    data_plane: DataPlane,
    payload: InferenceRequest,
    model_name: str,
    version: str | None,
    cloud_events: CloudEventHeaders,
) -> InferenceResponse:
    """DataPlane.infer, for a DataPlane that `supported_by` accepts: the request given an id if it has none and the
    CloudEvents headers, `predict` booked by `run`, the response given the request's id and its CloudEvents headers.
    Raises MLServerError as DataPlane.infer does."""

    async def predict(model: MLModel) -> InferenceResponse:
        if payload.id is None:
            payload.id = new_request_id()
        _add_headers(payload, cloud_events.request(model.settings, payload.id))
        prediction: InferenceResponse = await model.predict(payload)
        prediction.id = payload.id
        _add_headers(prediction, cloud_events.response(model.settings, payload.id))
        return prediction

    return await run(data_plane, model_name, version, predict)
