"""What tempo's MLServer servers do on gRPC beyond MLServer itself, installed by `tempo_kfserving.server`.

- ModelReady of an unknown model answers NOT_FOUND, as ModelMetadata and ModelInfer already do (MLServer 1.7
  lets that error escape as UNKNOWN).
- A malformed ModelInfer request answers INVALID_ARGUMENT naming the tensor: an unknown datatype, a shape
  with a negative dimension, raw contents of the wrong size for their shape and datatype, or typed contents in
  the wrong field or of the wrong length (MLServer's converters fail on those with INTERNAL).
- Responses carry what the protocol allows and MLServer's converter does not write: FP16 outputs go as raw
  contents (the proto has no typed field for them), and float outputs holding "nan", "inf" or "-inf" (the
  REST codec's JSON spelling of non-finite values) go as those floats.
- BYTES outputs with content_type "base64" (how JSON carries bytes that are not text) go as the bytes
  themselves, without that content type: gRPC carries any bytes, and other clients read BYTES as raw bytes.
- A request of raw contents to a model that registered a binary handler (tempo's runtime, in the server process)
  is answered by it directly, in raw contents (see `rest_conformance`): MLServer's own path turns raw contents
  into Python lists and back, which costs 5x REST's time for a 1 MB array.
"""

from __future__ import annotations

import base64
import functools
import math
import struct
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import orjson
from mlserver.errors import MLServerError
from mlserver.grpc import dataplane_pb2 as pb
from mlserver.grpc import servicers
from mlserver.grpc.converters import ModelInferResponseConverter
from mlserver.grpc.utils import STATUS_CODE_MAPPING
from mlserver.types import InferenceResponse, TensorData

from tempo_kfserving import bookkeeping, direct
from tempo_kfserving.codec import BASE64_CONTENT_TYPE, DATATYPES, HEADER_LENGTH
from tempo_kfserving.grpc_tensors import request_document, response_message

__all__ = ["install"]

# The typed contents field of each datatype, and the bytes one element takes in raw contents (BYTES: variable).
_FIELDS = {
    "BOOL": ("bool_contents", 1),
    "UINT8": ("uint_contents", 1),
    "UINT16": ("uint_contents", 2),
    "UINT32": ("uint_contents", 4),
    "UINT64": ("uint64_contents", 8),
    "INT8": ("int_contents", 1),
    "INT16": ("int_contents", 2),
    "INT32": ("int_contents", 4),
    "INT64": ("int64_contents", 8),
    "FP16": (None, 2),
    "FP32": ("fp32_contents", 4),
    "FP64": ("fp64_contents", 8),
    "BYTES": ("bytes_contents", 0),
}
_FLOATS = frozenset({"FP16", "FP32", "FP64"})
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
_U32 = struct.Struct("<I")
_MARKER = "_tempo_grpc_conformance"

Handler = Callable[[Any, Any, grpc.aio.ServicerContext], Awaitable[Any]]


def install() -> None:
    """Patch MLServer's gRPC servicer in this process, before its server starts; a second call does nothing."""
    servicer = servicers.InferenceServicer
    if getattr(servicer, _MARKER, False):
        return
    servicer.ModelReady = _not_found_as_status(servicer.ModelReady)  # type: ignore[method-assign]
    servicer.ModelInfer = _refuse_malformed(servicer.ModelInfer)  # type: ignore[method-assign]
    servicers.ModelInferResponseConverter = _ResponseConverter  # type: ignore[misc]
    setattr(servicer, _MARKER, True)


def _request_problem(request: pb.ModelInferRequest) -> str | None:
    """What makes a ModelInfer request malformed, or None; raw contents pair with the inputs without typed contents."""
    raw = list(request.raw_input_contents)
    without_contents = [each for each in request.inputs if not each.HasField("contents")]
    if raw and len(raw) != len(without_contents):
        return (
            f"the request has {len(raw)} raw_input_contents for {len(without_contents)} input(s) without typed "
            "contents; send one raw entry per input, in the order of the inputs."
        )
    raw_of = dict(zip((each.name for each in without_contents), raw, strict=False))
    for each in request.inputs:
        problem = _input_problem(each, raw_of.get(each.name))
        if problem is not None:
            return f"input '{each.name}': {problem}"
    return None


def _input_problem(tensor: pb.ModelInferRequest.InferInputTensor, raw: bytes | None) -> str | None:
    if tensor.datatype not in DATATYPES:
        return f"unknown datatype {tensor.datatype!r}; use one of {', '.join(DATATYPES)}."
    if any(size < 0 for size in tensor.shape):
        return f"shape {list(tensor.shape)} has a negative dimension; send the tensor's dimensions."
    count = math.prod(tensor.shape)
    field, itemsize = _FIELDS[tensor.datatype]
    if raw is not None:
        if tensor.datatype == "BYTES":
            return _bytes_problem(raw, count)
        if len(raw) != count * itemsize:
            return (
                f"datatype {tensor.datatype} with shape {list(tensor.shape)} needs {count * itemsize} bytes of raw "
                f"contents, got {len(raw)}; send {itemsize} byte(s) per value, little-endian."
            )
        return None
    if not tensor.HasField("contents"):
        return "has neither typed contents nor raw_input_contents; send its values in one of them."
    if field is None:
        return f"{tensor.datatype} has no typed contents field; send it as raw_input_contents."
    present = [descriptor.name for descriptor, _ in tensor.contents.ListFields()]
    if present and present != [field]:
        return f"datatype {tensor.datatype} goes in contents.{field}, not contents.{', '.join(present)}."
    got = len(getattr(tensor.contents, field))
    if got != count:
        return f"shape {list(tensor.shape)} holds {count} value(s), but contents.{field} has {got}."
    return None


def _bytes_problem(raw: bytes, count: int) -> str | None:
    """Whether BYTES raw contents are `count` elements, each prefixed by its length as 4 little-endian bytes."""
    offset, elements = 0, 0
    while offset < len(raw):
        if offset + 4 > len(raw):
            return f"element {elements} of the raw contents has a truncated length prefix."
        (length,) = _U32.unpack_from(raw, offset)
        offset += 4 + length
        if offset > len(raw):
            return f"element {elements} of the raw contents declares {length} bytes, more than are left."
        elements += 1
    if elements != count:
        return f"the shape holds {count} value(s), but the raw contents hold {elements}."
    return None


def _status(error: MLServerError) -> grpc.StatusCode:
    fallback = grpc.StatusCode.INTERNAL if error.status_code >= 500 else grpc.StatusCode.INVALID_ARGUMENT
    return STATUS_CODE_MAPPING.get(error.status_code, fallback)


def _not_found_as_status(method: Handler) -> Handler:
    @functools.wraps(method)
    async def answer(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            return await method(self, request, context)
        except MLServerError as exc:
            await context.abort(_status(exc), str(exc))

    return answer


def _refuse_malformed(method: Handler) -> Handler:
    @functools.wraps(method)
    async def answer(self: Any, request: pb.ModelInferRequest, context: grpc.aio.ServicerContext) -> Any:
        problem = _request_problem(request)
        if problem is not None:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, problem)
        handler = direct.handler_for(request.model_name, binary=True)
        raw = request.inputs and len(request.raw_input_contents) == len(request.inputs)
        if handler is not None and raw and bookkeeping.supported_by(getattr(self, "_data_plane", None)):
            answered = await _answer_raw(self._data_plane, handler, request, context)
            if answered is not None:
                return answered
        return await method(self, request, context)

    return answer


async def _answer_raw(
    data_plane: Any, handler: direct.DirectHandler, request: pb.ModelInferRequest, context: grpc.aio.ServicerContext
) -> pb.ModelInferResponse | None:
    """A request of raw contents to tempo's runtime, answered by its direct handler with raw contents: the arrays
    go from bytes to numpy and back with no Python lists between. None if the handler does not take it.
    """
    document, binary = request_document(request)
    header = orjson.dumps(document)
    version = request.model_version or None
    try:
        answered = await direct.answer(
            data_plane, handler, request.model_name, version, header + binary, {HEADER_LENGTH: str(len(header))}
        )
    except MLServerError as exc:
        await context.abort(_status(exc), str(exc))
    if answered is None:
        return None
    length = int(answered.headers[HEADER_LENGTH])
    return response_message(orjson.loads(answered.body[:length]), answered.body[length:])


class _ResponseConverter(ModelInferResponseConverter):  # type: ignore[misc]
    """MLServer's response converter, given outputs that protobuf can carry."""

    @classmethod
    def from_types(cls, type_object: InferenceResponse, use_raw: bool = False) -> pb.ModelInferResponse:
        for output in type_object.outputs:
            values = output.data.root
            if output.datatype in _FLOATS and any(isinstance(value, str) for value in values):
                output.data = TensorData(root=[_NON_FINITE.get(value, value) for value in values])
            elif (
                output.datatype == "BYTES"
                and output.parameters
                and output.parameters.content_type == BASE64_CONTENT_TYPE
            ):
                output.data = TensorData(root=[base64.b64decode(value) for value in values])
                output.parameters.content_type = None
        raw = use_raw or any(output.datatype == "FP16" for output in type_object.outputs)
        response: pb.ModelInferResponse = super().from_types(type_object, use_raw=raw)
        if raw:  # the protocol has no typed contents beside raw ones, not even empty ones
            for output in response.outputs:
                output.ClearField("contents")
        return response
