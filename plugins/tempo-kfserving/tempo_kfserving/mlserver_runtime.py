"""Tempo's MLServer runtime: serves a saved tempo artifact (custom model, class model or pipeline)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from mlserver.errors import MLServerError
from mlserver.types import InferenceRequest, InferenceResponse

from tempo_core.artifact import load
from tempo_core.custom import CustomModel
from tempo_core.errors import ArgumentError, TempoError
from tempo_core.pipeline import Pipeline
from tempo_core.protocol import protocol_of
from tempo_kfserving import bookkeeping, codec, direct
from tempo_kfserving.channel import Headers, client_for
from tempo_kfserving.mlserver_channel import ChannelServing, error_answer
from tempo_kfserving.pipeline_metrics import timed_child

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
                if child.name in colocated:  # served by this process too: the pipeline calls it in-process
                    child.route_to(timed_child(servable.name, child.name, child.call_in_process))
                    continue
                if child.name not in endpoints:
                    raise MLServerError(
                        f"pipeline '{servable.name}' has no endpoint for its child '{child.name}'; deploy the "
                        "pipeline with tempo so its children are deployed with it"
                    )
                client = client_for(child, protocol_of(child), endpoints[child.name])
                child.route_to(timed_child(servable.name, child.name, client))
                remote_children += 1
        servable.load()
        self._servable = servable
        # A pipeline waiting on other servers runs off the event loop, so requests overlap.
        self._blocks_on_network = remote_children > 0
        self._is_async = servable.is_async  # worked out once: inspecting the code costs microseconds a request
        loaded: bool = await super().load()  # opens the local channel
        if (self.settings.max_batch_size or 0) <= 1:  # with adaptive batching every request goes through predict()
            direct.register_handler(self.name, self._answer_directly)
        return loaded

    async def unload(self) -> bool:
        """Stop answering requests directly, then unload."""
        direct.unregister_handler(self.name, self._answer_directly)
        unloaded: bool = await super().unload()
        return unloaded

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        """Decode the request by the signature, run the model in-process, encode the outputs it asks for."""
        servable = self._servable
        document = payload.model_dump(exclude_none=True)
        try:
            arguments = codec.decode_request_dict(servable.signature, document)
            wanted = codec.requested_outputs(servable.signature, document)
            value = await self._call(arguments)
            response = codec.encode_response_dict(servable.signature, servable.name, value, outputs=wanted.names)
        except Exception as exc:
            raise _as_mlserver_error(servable.name, exc) from exc
        return _response(response, payload)

    async def _answer_directly(self, body: bytes, headers: Mapping[str, str]) -> direct.DirectAnswer:
        """A V2 request body (JSON or binary extension) decoded and answered by tempo's codec alone, binary outputs
        if asked; raises MLServerError when the request or the model fails."""
        servable = self._servable
        try:
            arguments, wanted = codec.read_request(servable.signature, body, headers)
            request_id = wanted.request_id or bookkeeping.new_request_id()
            value = await self._call(arguments)
            content, answer_headers = codec.encode_response(
                servable.signature,
                servable.name,
                value,
                binary=wanted.binary,
                outputs=wanted.names,
                request_id=request_id,
            )
        except Exception as exc:
            raise _as_mlserver_error(servable.name, exc) from exc
        return direct.DirectAnswer(content, answer_headers, request_id)

    async def _answer(self, body: bytes, headers: Headers) -> tuple[int, bytes, Headers]:
        """A request on the local channel, answered as a direct REST request is."""
        try:
            answered = await self._answer_directly(body, headers)
        except MLServerError as exc:
            return error_answer(exc.status_code, str(exc))
        return 200, answered.body, answered.headers

    async def _call(self, arguments: dict[str, Any]) -> Any:
        if self._is_async:  # an async pipeline awaits its children on this loop, together where it gathers
            return await self._servable.call_in_process(arguments)
        if self._blocks_on_network:
            return await asyncio.to_thread(self._servable.call_in_process, arguments)
        return self._servable.call_in_process(arguments)


def _as_mlserver_error(model_name: str, exc: Exception) -> MLServerError:
    """tempo's errors as MLServer's: 400 for bad arguments, 500 for what the model or its outputs got wrong.
    (Caught inline rather than by a context manager, whose entry and exit cost more than a small model's call.)"""
    if isinstance(exc, ArgumentError):
        return MLServerError(str(exc), status_code=_BAD_REQUEST)
    if isinstance(exc, TempoError):
        return MLServerError(str(exc), status_code=_SERVER_ERROR)
    return MLServerError(f"model '{model_name}' raised {type(exc).__name__}: {exc}", status_code=_SERVER_ERROR)


def _response(response: dict[str, Any], payload: InferenceRequest) -> InferenceResponse:
    # BYTES elements as bytes: MLServer's gRPC converter writes only bytes, and its REST JSON writes them back as text.
    for output in response["outputs"]:
        if output["datatype"] == "BYTES":
            output["data"] = [text.encode() for text in output["data"]]
    result = InferenceResponse.model_validate(response)
    result.id = payload.id
    return result
