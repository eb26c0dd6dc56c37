"""The user model that seldon-core's Python microservice loads to serve a tempo artifact over the Seldon protocol.

`python -m seldon_core.microservice tempo_seldon.microservice.TempoSeldonModel --parameters ...` serves it at
`/api/v1.0/predictions`, with `PAYLOAD_PASSTHROUGH=true` so that `predict_raw` gets the request body as sent and its
answer goes back as it is: the wire format is exactly `tempo_seldon.codec`'s. A request that does not fit the
signature gets Seldon's error shape with status 400; anything that fails in the model, status 500.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from seldon_core.flask_utils import SeldonMicroserviceException

from tempo_core.artifact import load
from tempo_core.custom import CustomModel
from tempo_core.details import ModelDetails
from tempo_core.errors import ArgumentError, ArtifactError, TempoError
from tempo_core.framework_loaders import load_predictor
from tempo_core.pipeline import Pipeline
from tempo_core.protocol import protocol_of
from tempo_core.signature import Signature
from tempo_kfserving.channel import client_for
from tempo_seldon import codec

__all__ = ["TempoSeldonModel"]

_BAD_REQUEST = 400
_SERVER_ERROR = 500
_BAD_DATA = "MICROSERVICE_BAD_DATA"
_INTERNAL_ERROR = "MICROSERVICE_INTERNAL_ERROR"
# What a loaded artifact serves: its name, its signature, and the call that predicts with arguments by input name.
_Served = tuple[str, Signature, Callable[[dict[str, Any]], Any]]


class TempoSeldonModel:
    """Serves the tempo artifact in `folder`: custom code from its pickle, a standard artifact (described by
    `details`, ModelDetails as JSON) with its framework's loader. A pipeline reaches its children at
    `child_endpoints` (JSON: model name -> base URL); children without one run in this process."""

    def __init__(self, folder: str, details: str = "", child_endpoints: str = "{}") -> None:
        self._folder = folder
        self._details = details
        self._child_endpoints: dict[str, str] = json.loads(child_endpoints)
        self._served: _Served | None = None

    def load(self) -> None:
        """Load the artifact and run its loader, before the microservice answers."""
        try:
            self._served = self._loaded()
        except (AttributeError, NotImplementedError) as exc:  # the microservice would take these for "no load()"
            raise ArtifactError(f"the tempo artifact in {self._folder} failed to load: {exc!r}") from exc

    def _loaded(self) -> _Served:
        if self._details:
            details = ModelDetails.model_validate_json(self._details)
            predictor = load_predictor(details.platform, self._folder, details.name)
            return details.name, details.signature, lambda arguments: predictor(next(iter(arguments.values())))
        servable = load(self._folder, verify_environment=False)
        if not isinstance(servable, CustomModel):
            raise ArtifactError(f"{self._folder} holds a standard artifact; pass its details to serve it")
        if isinstance(servable, Pipeline):
            for child in servable.models:
                if child.name in self._child_endpoints:
                    child.route_to(client_for(child, protocol_of(child), self._child_endpoints[child.name]))
        servable.load()
        if servable.is_async:  # seldon-core's microservice calls from plain threads: one event loop per call
            return servable.name, servable.signature, lambda arguments: asyncio.run(servable.call_in_process(arguments))
        return servable.name, servable.signature, servable.call_in_process

    def predict_raw(self, request: bytes | str | dict[str, Any]) -> bytes:
        """Decode a SeldonMessage by the signature, run the model, and encode what it returns."""
        assert self._served is not None, "the microservice runs load() before the first request"
        name, signature, predict = self._served
        if isinstance(request, dict):  # a multipart form, which the microservice has already parsed
            request = json.dumps(request)
        body = request.encode("utf-8") if isinstance(request, str) else request
        try:
            arguments = codec.decode_request(signature, body)
        except ArgumentError as exc:
            raise SeldonMicroserviceException(str(exc), status_code=_BAD_REQUEST, reason=_BAD_DATA) from exc
        try:
            return codec.encode_response(signature, name, predict(arguments))
        except ArgumentError as exc:
            raise SeldonMicroserviceException(
                f"model '{name}': {exc}", status_code=_BAD_REQUEST, reason=_BAD_DATA
            ) from exc
        except TempoError as exc:
            raise SeldonMicroserviceException(
                f"model '{name}': {exc}", status_code=_SERVER_ERROR, reason=_INTERNAL_ERROR
            ) from exc
        except Exception as exc:
            raise SeldonMicroserviceException(
                f"model '{name}' raised {type(exc).__name__}: {exc}",
                status_code=_SERVER_ERROR,
                reason=_INTERNAL_ERROR,
            ) from exc
