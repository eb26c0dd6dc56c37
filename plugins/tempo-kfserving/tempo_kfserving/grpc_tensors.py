"""V2 gRPC messages as the REST binary extension's documents, and back: the JSON header of every tensor, with each
raw content's size as its `binary_data_size`, and the raw contents concatenated in order. tempo's client reads
responses this way, and tempo's servers answer raw requests to tempo's runtime this way, with the REST codec.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlserver.grpc import dataplane_pb2 as pb

from tempo_core.errors import RemoteError

__all__ = ["parameter", "parameters_of", "request_document", "response_document", "response_message"]


def parameter(value: str | bool | int | float) -> pb.InferParameter:
    """One V2 parameter value as protobuf."""
    if isinstance(value, bool):
        return pb.InferParameter(bool_param=value)
    if isinstance(value, int):
        return pb.InferParameter(int64_param=value)
    if isinstance(value, float):
        return pb.InferParameter(double_param=value)
    return pb.InferParameter(string_param=value)


def parameters_of(parameters: Mapping[str, pb.InferParameter]) -> dict[str, Any]:
    """Protobuf parameters as plain values."""
    return {
        key: getattr(value, value.WhichOneof("parameter_choice") or "string_param") for key, value in parameters.items()
    }


def request_document(request: pb.ModelInferRequest) -> tuple[dict[str, Any], bytes]:
    """A request whose inputs are all raw contents, as a binary-extension request that asks for binary outputs."""
    raw = list(request.raw_input_contents)
    inputs = []
    for tensor, content in zip(request.inputs, raw, strict=True):
        parameters = {**parameters_of(tensor.parameters), "binary_data_size": len(content)}
        inputs.append(
            {"name": tensor.name, "datatype": tensor.datatype, "shape": list(tensor.shape), "parameters": parameters}
        )
    document: dict[str, Any] = {
        "inputs": inputs,
        "parameters": {**parameters_of(request.parameters), "binary_data_output": True},
    }
    if request.id:
        document["id"] = request.id
    if request.outputs:
        document["outputs"] = [{"name": output.name} for output in request.outputs]
    return document, b"".join(raw)


def response_message(document: Mapping[str, Any], binary: bytes) -> pb.ModelInferResponse:
    """A binary-extension response as a ModelInferResponse with raw output contents."""
    response = pb.ModelInferResponse(model_name=document.get("model_name", ""), id=document.get("id") or "")
    offset = 0
    for output in document.get("outputs", []):
        parameters = dict(output.get("parameters") or {})
        size = parameters.pop("binary_data_size")
        response.outputs.append(
            pb.ModelInferResponse.InferOutputTensor(
                name=output["name"],
                datatype=output["datatype"],
                shape=output["shape"],
                parameters={key: parameter(value) for key, value in parameters.items()},
            )
        )
        response.raw_output_contents.append(binary[offset : offset + size])
        offset += size
    return response


def response_document(response: pb.ModelInferResponse) -> tuple[dict[str, Any], bytes]:
    """The response as a V2 JSON document whose raw outputs name their size in the concatenated bytes."""
    raw = list(response.raw_output_contents)
    if raw and len(raw) != len(response.outputs):
        raise RemoteError(
            f"model '{response.model_name}' answered with {len(response.outputs)} outputs but {len(raw)} "
            "raw_output_contents; a V2 server sends one raw entry per output."
        )
    outputs = []
    for index, tensor in enumerate(response.outputs):
        entry: dict[str, Any] = {
            "name": tensor.name,
            "datatype": tensor.datatype,
            "shape": list(tensor.shape),
            "parameters": parameters_of(tensor.parameters),
        }
        if raw:
            entry["parameters"]["binary_data_size"] = len(raw[index])
        else:
            entry["data"] = [value for _, values in tensor.contents.ListFields() for value in values]
        outputs.append(entry)
    return {"model_name": response.model_name, "outputs": outputs}, b"".join(raw)
