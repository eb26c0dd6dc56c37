"""The V2 REST client: JSON bodies, or the binary tensor data extension for numeric arrays where the server takes it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from tempo_core.errors import RemoteError
from tempo_core.model import Servable
from tempo_core.protocol import EncodedRequest, WireProtocol
from tempo_core.remote import ProtocolClient
from tempo_kfserving import codec

__all__ = ["V2RestClient", "BINARY_THRESHOLD"]

# Numeric array bytes in one call from which binary tensors pay: below it a JSON body is as fast and easier to read.
BINARY_THRESHOLD = 1024


class V2RestClient(ProtocolClient):
    """A `ProtocolClient` that sends numeric arrays as binary tensor data when `binary` says so.

    With `binary=None` it asks the server once (`GET /v2`) whether it lists the binary tensor data extension,
    as tempo's own servers do; MLServer's stock image does not, so it gets JSON.
    """

    def __init__(
        self,
        model: Servable,
        protocol: WireProtocol,
        endpoint: str,
        *,
        timeout: float,
        headers: Mapping[str, str] | None = None,
        binary: bool | None = None,
    ) -> None:
        super().__init__(model, protocol, endpoint, timeout=timeout, headers=headers)
        self._binary = binary

    def encode(self, arguments: dict[str, Any]) -> EncodedRequest:
        """A binary body when the call carries enough numeric array data and the server takes it, else JSON."""
        numeric = sum(value.nbytes for value in arguments.values() if _is_numeric_array(value))
        binary = numeric >= BINARY_THRESHOLD and self._server_takes_binary()
        body, headers = codec.encode_request(self.model.signature, arguments, binary=binary)
        return EncodedRequest(body, headers)

    def _server_takes_binary(self) -> bool:
        if self._binary is None:
            try:
                response = self.send("GET", self.endpoint + "/v2", None, {})
                extensions = json.loads(response.data).get("extensions") or []
            except (RemoteError, ValueError, AttributeError):
                extensions = []
            self._binary = codec.BINARY_EXTENSION in extensions
        return self._binary


def _is_numeric_array(value: Any) -> bool:
    return isinstance(value, np.ndarray) and value.dtype.kind in "biuf"
