"""Tempo's MLServer runtime: serves a saved tempo artifact (custom model, class model or pipeline)."""

from __future__ import annotations

import asyncio
from typing import Any

from mlserver.errors import MLServerError
from mlserver.types import InferenceRequest, InferenceResponse

from tempo_core.artifact import load
from tempo_core.channel import client_for
from tempo_core.custom import CustomModel
from tempo_core.errors import ArgumentError, TempoError
from tempo_core.local_runtime import protocol_of
from tempo_core.pipeline import Pipeline
from tempo_kfserving import codec
from tempo_kfserving.mlserver_channel import ChannelServing

__all__ = ["TempoMLServerModel"]

_BAD_REQUEST = 400
_SERVER_ERROR = 500


class TempoMLServerModel(ChannelServing):
    """Loads the tempo artifact at `parameters.uri` and answers V2 requests by its signature.

    A pipeline's children are reached at `parameters.extra.child_endpoints` (model name -> base URL),
    each through one pooled client created at load time: over the local channel when the child answers
    there, else over REST.
    """

    async def load(self) -> bool:
        """Load the artifact, route a pipeline's children to their servers, run the model's loader, open the channel."""
        parameters = self.settings.parameters
        servable = load(parameters.uri, verify_environment=False)
        if not isinstance(servable, CustomModel):
            raise MLServerError(f"{parameters.uri} holds a standard artifact; serve it with its MLServer runtime")
        extra = parameters.extra or {}
        endpoints: dict[str, str] = extra.get("child_endpoints", {})
        colocated: list[str] = extra.get("colocated", [])
        remote_children = 0
        if isinstance(servable, Pipeline):
            for child in servable.models:
                if child.name in colocated:
                    continue  # served by this process too: the pipeline calls it in-process
                if child.name not in endpoints:
                    raise MLServerError(
                        f"pipeline '{servable.name}' has no endpoint for its child '{child.name}'; deploy the "
                        "pipeline with tempo so its children are deployed with it"
                    )
                child.route_to(client_for(child, protocol_of(child), endpoints[child.name]))
                remote_children += 1
        servable.load()
        self._servable = servable
        # A pipeline waiting on other servers runs off the event loop, so requests overlap.
        self._blocks_on_network = remote_children > 0
        return await super().load()  # opens the local channel

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        """Decode the request by the signature, run the model in-process, encode what it returns."""
        servable = self._servable
        try:
            arguments = codec.decode_request_dict(servable.signature, payload.model_dump(exclude_none=True))
            if self._blocks_on_network:
                value = await asyncio.to_thread(servable.call_in_process, arguments)
            else:
                value = servable.call_in_process(arguments)
            response = codec.encode_response_dict(servable.signature, servable.name, value)
        except ArgumentError as exc:
            raise MLServerError(str(exc), status_code=_BAD_REQUEST) from exc
        except TempoError as exc:
            raise MLServerError(str(exc), status_code=_SERVER_ERROR) from exc
        except Exception as exc:
            raise MLServerError(
                f"model '{servable.name}' raised {type(exc).__name__}: {exc}", status_code=_SERVER_ERROR
            ) from exc
        return _response(response, payload)


def _response(response: dict[str, Any], payload: InferenceRequest) -> InferenceResponse:
    result = InferenceResponse.model_validate(response)
    result.id = payload.id
    return result
