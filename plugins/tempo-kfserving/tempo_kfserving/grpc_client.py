"""GrpcClient: calls one deployed model over the Open Inference Protocol's gRPC service (KServe V2).

Every input travels as `raw_input_contents` (the protocol allows no mix of raw and typed contents in one
request): numeric arrays as their little-endian bytes, and str, bytes, JSON values and scalars as the REST
codec's one-element tensors with the same content types. Servers answer raw requests with raw outputs; typed
outputs are read too. Both are decoded by tempo_kfserving.codec, so a call returns what the in-process call does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import grpc
from mlserver.grpc import dataplane_pb2 as pb
from mlserver.grpc.dataplane_pb2_grpc import GRPCInferenceServiceStub

from tempo_core.client import ModelClient
from tempo_core.errors import RemoteError
from tempo_core.model import Servable
from tempo_kfserving import codec
from tempo_kfserving.grpc_tensors import parameter, parameters_of, response_document

__all__ = ["GrpcClient"]

# Messages of any size both ways, as over REST (gRPC's default refuses answers over 4 MiB).
_CHANNEL_OPTIONS = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]
# The HTTP status of each gRPC code, as google.rpc.Code documents it; any other code is 500.
_HTTP_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}


class GrpcClient(ModelClient):
    """Sends a model's calls to the V2 gRPC endpoint at `address` ("host:port") over one channel.

    `timeout` is each call's deadline in seconds unless the call gives its own; `headers` go with every call
    as gRPC metadata.
    """

    def __init__(
        self, model: Servable, address: str, *, timeout: float, headers: Mapping[str, str] | None = None
    ) -> None:
        self.model = model
        self.address = address
        self.timeout = timeout
        self._metadata = tuple((key.lower(), value) for key, value in (headers or {}).items())
        self._channel = grpc.insecure_channel(address, options=_CHANNEL_OPTIONS)
        self._stub = GRPCInferenceServiceStub(self._channel)

    def __call__(self, arguments: dict[str, Any], *, timeout: float | None = None) -> Any:
        """Send arguments bound by input name and return the decoded result."""
        tensors = codec.encode_raw_inputs(self.model.signature, arguments)
        request = pb.ModelInferRequest(
            model_name=self.model.name,
            inputs=[_input_tensor(header) for header, _ in tensors],
            raw_input_contents=[raw for _, raw in tensors],
        )
        response = self._call(self._stub.ModelInfer, request, timeout)
        document, binary = response_document(response)
        return codec.decode_response_dict(self.model.signature, document, binary)

    def metadata(self) -> dict[str, Any]:
        """The model's metadata in the shape of the V2 REST answer: name, versions, platform, inputs and outputs."""
        answer = self._call(self._stub.ModelMetadata, pb.ModelMetadataRequest(name=self.model.name), None)
        return {
            "name": answer.name,
            "versions": list(answer.versions),
            "platform": answer.platform,
            "inputs": [_tensor_metadata(tensor) for tensor in answer.inputs],
            "outputs": [_tensor_metadata(tensor) for tensor in answer.outputs],
            "parameters": parameters_of(answer.parameters),
        }

    def close(self) -> None:
        """Close the channel."""
        self._channel.close()

    def _call(self, method: Any, request: Any, timeout: float | None) -> Any:
        deadline = self.timeout if timeout is None else timeout
        try:
            return method(request, timeout=deadline, metadata=self._metadata)
        except grpc.RpcError as exc:
            raise self._error(exc, deadline) from exc

    def _error(self, exc: grpc.RpcError, deadline: float) -> RemoteError:
        code: grpc.StatusCode = exc.code()  # type: ignore[attr-defined]  # every RpcError from a call is a grpc.Call
        details = exc.details()  # type: ignore[attr-defined]
        name = self.model.name
        if code is grpc.StatusCode.DEADLINE_EXCEEDED:
            message = (
                f"model '{name}' at {self.address} did not answer over gRPC within the timeout of {deadline:g} s "
                "(DEADLINE_EXCEEDED); raise the client's timeout if the model is slow."
            )
        elif code is grpc.StatusCode.UNAVAILABLE:
            message = (
                f"model '{name}' could not be reached over gRPC at {self.address} (UNAVAILABLE: {details}); check "
                f"that its server runs and serves gRPC on that port. The timeout was {deadline:g} s."
            )
        else:
            message = f"model '{name}' at {self.address} answered {code.name} over gRPC: {details}"
        return RemoteError(message, status_code=_HTTP_STATUS.get(code, 500))


def _input_tensor(header: dict[str, Any]) -> pb.ModelInferRequest.InferInputTensor:
    return pb.ModelInferRequest.InferInputTensor(
        name=header["name"],
        datatype=header["datatype"],
        shape=header["shape"],
        parameters={key: parameter(value) for key, value in header["parameters"].items()},
    )


def _tensor_metadata(tensor: pb.ModelMetadataResponse.TensorMetadata) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": tensor.name, "datatype": tensor.datatype, "shape": list(tensor.shape)}
    if tensor.parameters:
        entry["parameters"] = parameters_of(tensor.parameters)
    return entry
