"""MLServer models that also answer on tempo's local channel (tempo_kfserving.channel).

`ChannelServing` goes first among an MLServer runtime's bases: once the model is loaded it listens on
its channel socket, and each request there runs the model's own `predict`, as MLServer's REST handler
would. Tempo's runtime has it, and so do MLServer's prepackaged runtimes as `tempo_kfserving.prepackaged`
serves them.
"""

from __future__ import annotations

import json
import uuid

from mlserver import MLModel
from mlserver.errors import MLServerError
from mlserver.types import InferenceRequest
from pydantic import ValidationError

from tempo_kfserving.channel import ChannelServer, Headers

__all__ = ["ChannelServing", "error_answer"]

_JSON = {"content-type": "application/json"}


def error_answer(status: int, message: str) -> tuple[int, bytes, Headers]:
    """A channel answer in the V2 error shape, `{"error": message}`."""
    return status, json.dumps({"error": message}).encode(), _JSON


class ChannelServing(MLModel):  # type: ignore[misc]
    """Listens on the model's channel socket while loaded; inert where the server has no channel."""

    _channel: ChannelServer | None = None

    async def load(self) -> bool:
        """Load the model, then open its channel."""
        loaded: bool = await super().load()
        if loaded:
            self._channel = await ChannelServer.start(self.name, self._answer)
        return loaded

    async def unload(self) -> bool:
        """Close the channel, then unload the model."""
        if self._channel is not None:
            await self._channel.close()
            self._channel = None
        unloaded: bool = await super().unload()
        return unloaded

    async def _answer(self, body: bytes, headers: Headers) -> tuple[int, bytes, Headers]:
        """One channel request: a V2 JSON inference request in, MLServer's response out."""
        try:
            request = InferenceRequest.model_validate_json(body)
        except ValidationError as exc:
            return error_answer(422, f"not a V2 inference request: {exc}")
        if request.id is None:
            request.id = str(uuid.uuid4())
        try:
            response = await self.predict(request)
        except MLServerError as exc:
            return error_answer(exc.status_code, str(exc))
        except Exception as exc:
            return error_answer(500, f"model '{self.name}' raised {type(exc).__name__}: {exc}")
        response.id = request.id
        return 200, response.model_dump_json(exclude_none=True).encode(), _JSON
