"""The Open Inference Protocol (KServe V2) over REST: Python values to request and response bodies, and back.

Each input and output of a signature travels as one V2 tensor named by its spec. Arrays keep their dtype and
shape; str, bytes, JSON values and scalars travel as one-element tensors whose `content_type` parameter says
how to read them back, using MLServer's names where MLServer has one (`np`, `str`, `base64`). With
`binary=True` the REST binary tensor data extension carries the tensors as raw little-endian bytes after the
JSON header.

Problems with inputs raise `ArgumentError`, problems with outputs `PredictionError`, and a response that
carries an `error` raises `RemoteError`; each message names the tensor.
"""

from __future__ import annotations

import base64
import math
import reprlib
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from tempo_core.errors import ArgumentError, PredictionError, RemoteError, TempoError
from tempo_core.signature import Signature, TensorSpec, ValueKind

__all__ = [
    "encode_request",
    "decode_response",
    "decode_request",
    "encode_response",
    "decode_request_dict",
    "encode_response_dict",
    "encode_raw_inputs",
    "decode_response_dict",
    "RequestedOutputs",
    "requested_outputs",
    "read_request",
    "datatype_of",
    "DATATYPES",
    "NUMPY_CONTENT_TYPE",
    "STR_CONTENT_TYPE",
    "BASE64_CONTENT_TYPE",
    "INT_CONTENT_TYPE",
    "FLOAT_CONTENT_TYPE",
    "BOOL_CONTENT_TYPE",
    "JSON_CONTENT_TYPE",
    "DTYPE_PARAMETER",
    "HEADER_LENGTH",
    "BINARY_EXTENSION",
]

NUMPY_CONTENT_TYPE = "np"  # MLServer's NumpyCodec: a numeric array
STR_CONTENT_TYPE = "str"  # MLServer's StringCodec: BYTES elements are UTF-8 text
BASE64_CONTENT_TYPE = "base64"  # MLServer's Base64Codec: BYTES elements are base64 text of raw bytes
INT_CONTENT_TYPE = "tempo/int"
FLOAT_CONTENT_TYPE = "tempo/float"
BOOL_CONTENT_TYPE = "tempo/bool"
JSON_CONTENT_TYPE = "tempo/json"
# Which numpy container a BYTES array came from: "str", "bytes" or "object".
DTYPE_PARAMETER = "tempo_dtype"
HEADER_LENGTH = "Inference-Header-Content-Length"
# The server metadata `extensions` entry of a server that takes binary tensor data over REST (Triton's name).
BINARY_EXTENSION = "binary_tensor_data"

_NUMERIC: dict[str, np.dtype[Any]] = {
    "BOOL": np.dtype("?"),
    "UINT8": np.dtype("<u1"),
    "UINT16": np.dtype("<u2"),
    "UINT32": np.dtype("<u4"),
    "UINT64": np.dtype("<u8"),
    "INT8": np.dtype("<i1"),
    "INT16": np.dtype("<i2"),
    "INT32": np.dtype("<i4"),
    "INT64": np.dtype("<i8"),
    "FP16": np.dtype("<f2"),
    "FP32": np.dtype("<f4"),
    "FP64": np.dtype("<f8"),
}
DATATYPES = (*_NUMERIC, "BYTES")
_NATIVE = {name: dtype.newbyteorder("=") for name, dtype in _NUMERIC.items()}
_DATATYPE_OF = {(dtype.kind, dtype.itemsize): name for name, dtype in _NUMERIC.items()}
_INTEGERS = frozenset(name for name, dtype in _NUMERIC.items() if dtype.kind in "iu")
_FLOATS = frozenset(name for name, dtype in _NUMERIC.items() if dtype.kind == "f")
# The datatypes that can carry each non-array kind, and the one this codec sends.
_CARRIERS: dict[ValueKind, frozenset[str]] = {
    ValueKind.str: frozenset({"BYTES"}),
    ValueKind.bytes: frozenset({"BYTES"}),
    ValueKind.json: frozenset({"BYTES"}),
    ValueKind.int: _INTEGERS,
    ValueKind.float: _FLOATS | _INTEGERS,
    ValueKind.bool: frozenset({"BOOL"}),
}
_SENT_AS = {
    ValueKind.str: "BYTES",
    ValueKind.bytes: "BYTES",
    ValueKind.json: "BYTES",
    ValueKind.int: "INT64",
    ValueKind.float: "FP64",
    ValueKind.bool: "BOOL",
}
_DESCRIBED = {
    ValueKind.str: "a str",
    ValueKind.bytes: "bytes",
    ValueKind.json: "a JSON value",
    ValueKind.int: "an int",
    ValueKind.float: "a float",
    ValueKind.bool: "a bool",
}
_CONTAINERS = ("str", "bytes", "object")
_MAX_DIMS = 32  # numpy 1.x's limit, the lowest among the numpy versions tempo supports
_CHECKED_IN_PYTHON = 32  # a float array of at most this many values is checked for NaN and infinity in Python
# numpy pads every element of a str or bytes array to the longest one, so a short body could ask for a huge array:
# refuse one that would take more than this and 16 times its elements' own size.
_MAX_PADDED_BYTES = 2**30
_U32 = struct.Struct("<I")
_JSON_VALUE_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
_JSON_HEADERS = {"Content-Type": "application/json"}


# Made on every request, so slotted and not frozen: a frozen dataclass's __init__ costs five times as much.
@dataclass(slots=True)
class _Where:
    """Names a tensor in messages and raises the error class of its side (inputs or outputs)."""

    label: str
    error_class: type[TempoError]
    path: str = ""  # where the tensor is in the body, as `inputs[0]`

    def error(self, problem: str) -> TempoError:
        return self.error_class(f"{self.label}: {problem}")

    def field(self, name: str) -> str:
        """A field of the tensor as a path into the body: `inputs[0].datatype`."""
        return f"{self.path}.{name}" if self.path else name


@dataclass(frozen=True)
class _Side:
    role: str
    body: str
    error_class: type[TempoError]

    def at(self, name: str, path: str = "") -> _Where:
        return _Where(f"{self.role} '{name}'", self.error_class, path)

    def error(self, problem: str) -> TempoError:
        return self.error_class(f"{self.body} body: {problem}")


_INPUTS = _Side("input", "request", ArgumentError)
_OUTPUTS = _Side("output", "response", PredictionError)


# ---------------------------------------------------------------- public API


def encode_request(
    signature: Signature, arguments: Mapping[str, Any], *, binary: bool = False
) -> tuple[bytes, dict[str, str]]:
    """Encode arguments bound by input name as a V2 inference request body and its HTTP headers."""
    document, tensors = _request_document(signature, arguments, binary=binary)
    return _write(document, "inputs", tensors, binary=binary)


def decode_request(signature: Signature, body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
    """Decode a V2 inference request body (JSON or binary extension) into arguments by input name."""
    document, binary = _read_document(body, headers, _INPUTS)
    return _decode_inputs(signature, document, binary)


def encode_response(
    signature: Signature,
    model_name: str,
    value: Any,
    *,
    binary: bool = False,
    outputs: Sequence[str] | None = None,
    request_id: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """Encode what a model returned as a V2 inference response body and its HTTP headers.

    `outputs` keeps only the outputs a request asked for (see `requested_outputs`), in the order asked;
    `request_id` is the request's `id`, which the response repeats.
    """
    document: dict[str, Any] = {"model_name": model_name, **({"id": request_id} if request_id is not None else {})}
    if not binary and outputs is None:
        entries = _plain_array_entries(signature, value)
        if entries is not None:
            document["outputs"] = entries
            return orjson.dumps(document, option=orjson.OPT_SERIALIZE_NUMPY), dict(_JSON_HEADERS)
    tensors = _selected(_output_tensors(signature, model_name, value), outputs)
    return _write(document, "outputs", tensors, binary=binary)


def decode_response(signature: Signature, body: bytes, headers: Mapping[str, str]) -> Any:
    """Decode a V2 inference response body into the value the in-process call returns."""
    document, binary = _read_document(body, headers, _OUTPUTS)
    return _decode_outputs(signature, document, binary)


def encode_raw_inputs(signature: Signature, arguments: Mapping[str, Any]) -> list[tuple[dict[str, Any], bytes]]:
    """Encode arguments as V2 input tensors without `data`, each with its raw bytes (gRPC's `raw_input_contents`)."""
    _, tensors = _request_document(signature, arguments, binary=False)
    return [(tensor.header(name), tensor.raw()) for name, tensor in tensors]


def decode_response_dict(signature: Signature, document: Mapping[str, Any], binary: bytes = b"") -> Any:
    """Decode an already parsed V2 response; its tensors with `parameters.binary_data_size` are read from `binary`.

    A gRPC response goes through here: typed contents as each tensor's `data`, raw contents concatenated in the
    order of the outputs, each one's size as its `binary_data_size`.
    """
    return _decode_outputs(signature, document, memoryview(binary))


def decode_request_dict(signature: Signature, document: Mapping[str, Any]) -> dict[str, Any]:
    """Decode an already parsed JSON V2 request (such as MLServer's `InferenceRequest.model_dump()`)."""
    return _decode_inputs(signature, document, memoryview(b""))


def encode_response_dict(
    signature: Signature, model_name: str, value: Any, *, outputs: Sequence[str] | None = None
) -> dict[str, Any]:
    """Encode what a model returned as a JSON-ready V2 response dict of plain Python values, `outputs` only if given."""
    tensors = _selected(_output_tensors(signature, model_name, value), outputs)
    return {"model_name": model_name, "outputs": [tensor.json_entry(name, plain=True) for name, tensor in tensors]}


@dataclass(slots=True)
class RequestedOutputs:
    """What a request asks back: the outputs by name (None: all of them), whether as binary tensor data, its id."""

    names: tuple[str, ...] | None = None
    binary: bool = False
    request_id: str | None = None


def requested_outputs(signature: Signature, document: Mapping[str, Any]) -> RequestedOutputs:
    """Read a request's `outputs`, binary-output parameters and id; an output the model lacks raises `ArgumentError`."""
    parameters = document.get("parameters") or {}
    binary = isinstance(parameters, Mapping) and parameters.get("binary_data_output") is True
    request_id = document.get("id")
    request_id = request_id if isinstance(request_id, str) else None
    items = document.get("outputs")
    if items is None:
        return RequestedOutputs(None, binary, request_id)
    if not isinstance(items, list) or not all(isinstance(item, Mapping) and "name" in item for item in items):
        raise ArgumentError("request body: outputs must be a list of objects with a name, as in [{'name': 'output0'}].")
    names = tuple(str(item["name"]) for item in items)
    known = [spec.name for spec in signature.outputs]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ArgumentError(
            f"request body: the model has no output(s) {_quoted(unknown)}; its outputs are {_quoted(known)}."
        )
    binary = binary or any((item.get("parameters") or {}).get("binary_data") is True for item in items)
    return RequestedOutputs(names or None, binary, request_id)


def read_request(
    signature: Signature, body: bytes, headers: Mapping[str, str]
) -> tuple[dict[str, Any], RequestedOutputs]:
    """Server side: decode a V2 request body (JSON or binary extension) into arguments and what it asks back."""
    document, binary = _read_document(body, headers, _INPUTS)
    return _decode_inputs(signature, document, binary), requested_outputs(signature, document)


def datatype_of(dtype: np.dtype[Any]) -> str | None:
    """The V2 datatype of a numeric numpy dtype (BOOL, INT32, FP64...), None for others."""
    return _DATATYPE_OF.get((dtype.kind, dtype.itemsize))


def _selected(tensors: list[tuple[str, _Tensor]], outputs: Sequence[str] | None) -> list[tuple[str, _Tensor]]:
    if outputs is None:
        return tensors
    by_name = dict(tensors)
    return [(name, by_name[name]) for name in outputs if name in by_name]


# ---------------------------------------------------------------- encoding


@dataclass(slots=True)
class _Tensor:
    """One encoded tensor: flat native-order numbers, or BYTES elements that are all text.

    Raw bytes (`blobs`) travel as base64 text in JSON and as themselves in binary forms, without the base64
    content type, as third-party clients read BYTES there.
    """

    datatype: str
    shape: list[int]
    parameters: dict[str, Any]
    numbers: np.ndarray[Any, Any] | None = None
    texts: list[str] = field(default_factory=list)
    blobs: list[bytes] | None = None

    def json_entry(self, name: str, *, plain: bool = False) -> dict[str, Any]:
        """The tensor with its `data`; `plain` gives Python lists instead of arrays that orjson writes."""
        data = self.texts if self.numbers is None else _json_numbers(self.numbers, plain=plain)
        return {
            "name": name,
            "datatype": self.datatype,
            "shape": self.shape,
            "parameters": self.parameters,
            "data": data,
        }

    def header(self, name: str) -> dict[str, Any]:
        """The tensor without `data`, described as its raw bytes travel."""
        parameters = dict(self.parameters)
        if self.blobs is not None:
            parameters.pop("content_type", None)
        return {"name": name, "datatype": self.datatype, "shape": self.shape, "parameters": parameters}

    def raw(self) -> bytes:
        """The values as V2 raw bytes: little-endian numbers, or each element (UTF-8 text, raw bytes) after its
        4-byte length.
        """
        if self.numbers is None:
            elements = self.blobs if self.blobs is not None else [text.encode() for text in self.texts]
            return b"".join(_U32.pack(len(item)) + item for item in elements)
        return self.numbers.astype(self.numbers.dtype.newbyteorder("<"), copy=False).tobytes()

    def binary_entry(self, name: str) -> tuple[dict[str, Any], bytes]:
        """The tensor without `data`, and the raw bytes that follow the JSON header for it."""
        blob = self.raw()
        entry = self.header(name)
        entry["parameters"]["binary_data_size"] = len(blob)
        return entry, blob


def _request_document(
    signature: Signature, arguments: Mapping[str, Any], *, binary: bool
) -> tuple[dict[str, Any], list[tuple[str, _Tensor]]]:
    names = signature.input_names()
    unexpected = [name for name in arguments if name not in names]
    if unexpected:
        raise ArgumentError(
            f"unexpected argument(s) {_quoted(unexpected)}; the model takes {_quoted(names) or 'no inputs'}."
        )
    tensors = []
    for spec in signature.inputs:
        where = _INPUTS.at(spec.name)
        value = arguments.get(spec.name)
        if value is None:
            if spec.optional:
                continue
            raise where.error("is missing or None, but the signature does not mark it Optional; pass a value.")
        tensors.append((spec.name, _encode_value(spec, value, where)))
    # A client that sends binary tensors asks for binary outputs too (servers without the extension ignore it).
    document: dict[str, Any] = {"parameters": {"binary_data_output": True}} if binary else {}
    return document, tensors


def _output_tensors(signature: Signature, model_name: str, value: Any) -> list[tuple[str, _Tensor]]:
    specs = signature.outputs
    if signature.multiple_outputs:
        if not isinstance(value, (tuple, list)) or len(value) != len(specs):
            got = (
                f"a {type(value).__name__} of {len(value)}"
                if isinstance(value, (tuple, list))
                else type(value).__name__
            )
            raise PredictionError(
                f"model '{model_name}' returned {got}, but its signature declares {len(specs)} outputs "
                f"({_quoted([spec.name for spec in specs])}); return a tuple of that length."
            )
        values: Sequence[Any] = value
    else:
        values = (value,)
    tensors = []
    for spec, item in zip(specs, values, strict=True):
        where = _OUTPUTS.at(spec.name)
        if item is None:
            if spec.optional:
                continue
            raise where.error("is None, but the signature does not mark it Optional; return a value.")
        tensors.append((spec.name, _encode_value(spec, item, where)))
    return tensors


def _plain_array_entries(signature: Signature, value: Any) -> list[dict[str, Any]] | None:
    """The JSON outputs of a value whose outputs are all arrays of numbers, written as the general path writes them
    without its checks of every kind of value; None for any other value, which the general path encodes or words the
    error of. Most models return such arrays."""
    specs = signature.outputs
    if not signature.multiple_outputs:
        value = (value,)
    elif not isinstance(value, (tuple, list)) or len(value) != len(specs):
        return None
    entries = []
    for spec, item in zip(specs, value, strict=True):
        tensor = _numeric_tensor(item) if spec.kind is ValueKind.ndarray and type(item) is np.ndarray else None
        if tensor is None:
            return None
        entries.append(tensor.json_entry(spec.name))
    return entries


def _write(
    document: dict[str, Any], key: str, tensors: list[tuple[str, _Tensor]], *, binary: bool
) -> tuple[bytes, dict[str, str]]:
    if not binary:
        document[key] = [tensor.json_entry(name) for name, tensor in tensors]
        return orjson.dumps(document, option=orjson.OPT_SERIALIZE_NUMPY), dict(_JSON_HEADERS)
    pairs = [tensor.binary_entry(name) for name, tensor in tensors]
    document[key] = [entry for entry, _ in pairs]
    header = orjson.dumps(document)
    headers = {"Content-Type": "application/octet-stream", HEADER_LENGTH: str(len(header))}
    return b"".join([header, *(blob for _, blob in pairs)]), headers


def _encode_value(spec: TensorSpec, value: Any, where: _Where) -> _Tensor:
    kind = spec.kind
    if kind is ValueKind.ndarray:
        return _array_tensor(value, where)
    if kind is ValueKind.str:
        if not isinstance(value, str):
            raise where.error(_wrong_type("a str", value))
        return _Tensor("BYTES", [1], {"content_type": STR_CONTENT_TYPE}, texts=_encodable([value], where))
    if kind is ValueKind.bytes:
        if not isinstance(value, (bytes, bytearray)):
            raise where.error(_wrong_type("bytes", value))
        return _Tensor(
            "BYTES", [1], {"content_type": BASE64_CONTENT_TYPE}, texts=[_base64(value)], blobs=[bytes(value)]
        )
    if kind is ValueKind.json:
        if not isinstance(value, (dict, list)):
            raise where.error(_wrong_type("a dict or list", value))
        try:
            text = orjson.dumps(value, option=_JSON_VALUE_OPTIONS).decode()
        except orjson.JSONEncodeError as exc:
            raise where.error(f"cannot be written as JSON ({exc}); use JSON-compatible values.") from exc
        return _Tensor("BYTES", [1], {"content_type": JSON_CONTENT_TYPE}, texts=[text])
    if kind is ValueKind.bool:
        if not isinstance(value, (bool, np.bool_)):
            raise where.error(_wrong_type("a bool", value))
        return _Tensor("BOOL", [1], {"content_type": BOOL_CONTENT_TYPE}, numbers=np.array([value], dtype=np.bool_))
    if kind is ValueKind.int:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise where.error(_wrong_type("an int", value))
        if not -(2**63) <= int(value) < 2**63:
            raise where.error(f"{value} does not fit INT64; pass it as a float or a str.")
        return _Tensor("INT64", [1], {"content_type": INT_CONTENT_TYPE}, numbers=np.array([value], dtype=np.int64))
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise where.error(_wrong_type("a float", value))
    return _Tensor("FP64", [1], {"content_type": FLOAT_CONTENT_TYPE}, numbers=np.array([value], dtype=np.float64))


def _array_tensor(value: Any, where: _Where) -> _Tensor:
    if isinstance(value, np.generic):
        value = np.asarray(value)
    if not isinstance(value, np.ndarray):
        raise where.error(_wrong_type("a numpy array", value) + " Convert it with np.asarray(...).")
    numeric = _numeric_tensor(value)
    if numeric is not None:
        return numeric
    dtype = value.dtype
    shape = list(value.shape)
    if dtype.kind == "U":
        return _text_array_tensor(shape, "str", _encodable(value.ravel().tolist(), where))
    if dtype.kind == "S":
        return _bytes_array_tensor(shape, "bytes", value.ravel().tolist())
    if dtype.kind == "O":
        elements = value.ravel().tolist()
        if all(isinstance(element, str) for element in elements):
            return _text_array_tensor(shape, "object", _encodable(elements, where))
        if all(isinstance(element, bytes) for element in elements):
            return _bytes_array_tensor(shape, "object", elements)
        odd = next(element for element in elements if not isinstance(element, (str, bytes)))
        raise where.error(
            f"an object array must hold only str or only bytes, but it holds a {type(odd).__name__}; "
            "convert it with .astype(str) or to a numeric dtype."
        )
    raise where.error(
        f"dtype {dtype} has no V2 datatype; convert it with .astype(...) to bool, an integer or float type, "
        "str or bytes."
    )


def _numeric_tensor(value: np.ndarray[Any, Any]) -> _Tensor | None:
    """An array of numbers as a tensor of its datatype, flat and in native byte order; None for any other dtype."""
    dtype = value.dtype
    datatype = _DATATYPE_OF.get((dtype.kind, dtype.itemsize))
    if datatype is None:
        return None
    flat = value.ravel()
    if not flat.dtype.isnative:
        flat = flat.astype(flat.dtype.newbyteorder("="))
    return _Tensor(datatype, list(value.shape), {"content_type": NUMPY_CONTENT_TYPE}, numbers=flat)


def _text_array_tensor(shape: list[int], container: str, texts: list[str]) -> _Tensor:
    parameters = {"content_type": STR_CONTENT_TYPE, DTYPE_PARAMETER: container}
    return _Tensor("BYTES", shape, parameters, texts=texts)


def _bytes_array_tensor(shape: list[int], container: str, elements: list[bytes]) -> _Tensor:
    parameters = {"content_type": BASE64_CONTENT_TYPE, DTYPE_PARAMETER: container}
    return _Tensor(
        "BYTES", shape, parameters, texts=[_base64(element) for element in elements], blobs=[bytes(e) for e in elements]
    )


def _json_numbers(numbers: np.ndarray[Any, Any], *, plain: bool) -> Any:
    """The values for `data`; JSON has no NaN or infinity, so those go as the strings "nan", "inf" and "-inf".

    numpy (and so MLServer and tritonclient) reads those strings back as floats, and the V2 schema allows
    strings in `data`, where MLServer's null for NaN is not allowed.
    """
    if numbers.dtype.kind == "f":
        if numbers.dtype.itemsize == 2:  # orjson writes no float16; float32 holds every float16 exactly
            numbers = numbers.astype(np.float32)
        # A few values are checked faster in Python than by a numpy call (about 3 us here).
        if numbers.size <= _CHECKED_IN_PYTHON:
            values: list[Any] = numbers.tolist()
            if all(map(math.isfinite, values)):
                return values if plain else numbers
            return [value if math.isfinite(value) else str(value) for value in values]  # "nan", "inf" or "-inf"
        finite = np.isfinite(numbers)
        if not finite.all():
            values = numbers.tolist()
            for index in np.flatnonzero(~finite).tolist():
                values[index] = str(values[index])
            return values
    return numbers.tolist() if plain else numbers


def _encodable(texts: list[str], where: _Where) -> list[str]:
    try:
        "".join(texts).encode()
    except UnicodeEncodeError as exc:
        raise where.error(
            f"holds text that UTF-8 cannot encode ({exc.reason}); remove lone surrogates, or send bytes."
        ) from exc
    return texts


def _base64(data: bytes | bytearray) -> str:
    return base64.b64encode(data).decode("ascii")


def _wrong_type(expected: str, value: Any) -> str:
    return f"expected {expected}, got {type(value).__name__}; pass {expected} as the signature declares."


# ---------------------------------------------------------------- decoding


@dataclass(slots=True)
class _Wire:
    """One tensor as it arrived: validated header fields and either JSON `data` or a binary `blob`."""

    where: _Where
    datatype: str
    shape: list[int]
    count: int
    content_type: str | None
    container: str | None
    data: Any
    blob: memoryview | None


def _read_document(body: bytes, headers: Mapping[str, str], side: _Side) -> tuple[dict[str, Any], memoryview]:
    view = memoryview(body)
    length_text = _header(headers, HEADER_LENGTH)
    if length_text is None:
        header_length = len(view)
    else:
        text = length_text.strip()
        if not (text.isascii() and text.isdigit() and len(text) <= 20) or int(text) > len(view):
            raise side.error(
                f"{HEADER_LENGTH} is {reprlib.repr(length_text)}, but it must be the length of the JSON header, "
                f"between 0 and the body's {len(view)} bytes."
            )
        header_length = int(text)
    try:
        document = orjson.loads(view[:header_length])
    except orjson.JSONDecodeError as exc:
        raise side.error(f"is not JSON ({exc}); send a V2 inference {side.body} object.") from exc
    if not isinstance(document, dict):
        raise side.error(f"must be a JSON object, got {type(document).__name__}; send a V2 inference {side.body}.")
    return document, view[header_length:]


def _decode_inputs(signature: Signature, document: Mapping[str, Any], binary: memoryview) -> dict[str, Any]:
    if not binary:
        plain = _plain_arrays(signature, document.get("inputs"))
        if plain is not None:
            return plain
    wires = _read_tensors(document.get("inputs"), binary, _INPUTS, "inputs")
    names = signature.input_names()
    unexpected = [name for name in wires if name not in names]
    if unexpected:
        raise _INPUTS.error(
            f"unexpected input(s) {_quoted(unexpected)}; the model takes {_quoted(names) or 'no inputs'}."
        )
    missing = [spec.name for spec in signature.inputs if not spec.optional and spec.name not in wires]
    if missing:
        raise _INPUTS.error(f"missing input(s) {_quoted(missing)}; send one tensor per input of the model.")
    return {
        spec.name: _decode_value(spec, wires[spec.name]) if spec.name in wires else None for spec in signature.inputs
    }


def _plain_arrays(signature: Signature, items: Any) -> dict[str, Any] | None:
    """The arguments of a JSON request whose inputs are all arrays of FP64 numbers, one per input of the signature and
    in its order, with no parameters but a content type; None for any other request, which the general path decodes
    or words the error of. It decodes what it takes as the general path does, at a third of the cost (most requests
    are of this form)."""
    specs = signature.inputs
    if type(items) is not list or len(items) != len(specs):
        return None
    arguments: dict[str, Any] = {}
    for spec, item in zip(specs, items, strict=True):
        if type(item) is not dict or spec.kind is not ValueKind.ndarray or item.get("name") != spec.name:
            return None
        shape, data, parameters = item.get("shape"), item.get("data"), item.get("parameters")
        if (
            item.get("datatype") != "FP64"
            or type(data) is not list
            or not _is_shape(shape)
            or (parameters and not _plain_parameters(parameters))
        ):
            return None
        try:
            values = np.array(data, dtype=np.float64)  # as the general path reads FP64 data
        except (ValueError, TypeError):
            return None
        if values.size != math.prod(shape):
            return None
        arguments[spec.name] = values.reshape(shape)
    return arguments


def _is_shape(shape: Any) -> bool:
    """Whether a tensor's `shape` is a list of at most _MAX_DIMS non-negative integers."""
    return (
        isinstance(shape, list) and len(shape) <= _MAX_DIMS and all(type(size) is int and size >= 0 for size in shape)
    )


def _plain_parameters(parameters: Any) -> bool:
    """Whether a tensor's parameters hold nothing but a content type (which arrays of numbers do not need)."""
    return (
        type(parameters) is dict and parameters.keys() <= {"content_type"} and type(parameters["content_type"]) is str
    )


def _decode_outputs(signature: Signature, document: Mapping[str, Any], binary: memoryview) -> Any:
    if "error" in document:
        raise RemoteError(f"the model answered with an error: {document['error']}")
    wires = _read_tensors(document.get("outputs"), binary, _OUTPUTS, "outputs")
    specs = signature.outputs
    if all(spec.name in wires or spec.optional for spec in specs):
        matched = [wires.get(spec.name) for spec in specs]
    elif len(wires) == len(specs):  # a prepackaged server names its outputs its own way ("predict")
        matched = list(wires.values())
    else:
        raise _OUTPUTS.error(
            f"the outputs are {_quoted(list(wires)) or 'none'}, but the signature expects "
            f"{_quoted([spec.name for spec in specs])}; check that the model's outputs match its signature."
        )
    values = tuple(
        None if wire is None else _decode_value(spec, wire) for spec, wire in zip(specs, matched, strict=True)
    )
    return values if signature.multiple_outputs else values[0]


def _read_tensors(items: Any, binary: memoryview, side: _Side, key: str) -> dict[str, _Wire]:
    if not isinstance(items, list):
        raise side.error(f"'{key}' must be a list of tensors, got {type(items).__name__}.")
    wires: dict[str, _Wire] = {}
    offset = 0
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise side.error(f"{key}[{index}] must be an object with a string 'name'.")
        where = side.at(item["name"], f"{key}[{index}]")
        if item["name"] in wires:
            raise where.error("appears twice; send each tensor once.")
        wires[item["name"]], offset = _read_tensor(item, binary, offset, where)
    if offset != len(binary):
        raise side.error(
            f"{len(binary) - offset} bytes of binary data follow the JSON header but no tensor's "
            "parameters.binary_data_size accounts for them; send one binary_data_size per binary tensor."
        )
    return wires


def _read_tensor(item: dict[str, Any], binary: memoryview, offset: int, where: _Where) -> tuple[_Wire, int]:
    datatype = item.get("datatype")
    if datatype not in DATATYPES:
        given = "is missing" if datatype is None else f"is {reprlib.repr(datatype)}, not a V2 datatype"
        raise where.error(f"{where.field('datatype')} {given}; use one of {', '.join(DATATYPES)}.")
    shape = item.get("shape")
    if not _is_shape(shape):
        raise where.error(
            f"{where.field('shape')} must be a list of at most {_MAX_DIMS} non-negative integers, got "
            f"{reprlib.repr(shape)}; "
            "send the tensor's dimensions."
        )
    parameters = item.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise where.error(f"parameters must be an object, got {type(parameters).__name__}.")
    content_type = parameters.get("content_type")
    if content_type is not None and not isinstance(content_type, str):
        raise where.error(f"parameters.content_type must be a string, got {reprlib.repr(content_type)}.")
    container = parameters.get(DTYPE_PARAMETER)
    if container is not None and container not in _CONTAINERS:
        raise where.error(
            f"parameters.{DTYPE_PARAMETER} is {reprlib.repr(container)}; use one of {', '.join(_CONTAINERS)}."
        )
    size = parameters.get("binary_data_size")
    data, blob = item.get("data"), None
    # Where the values are already in `data` (gRPC raw contents that MLServer unpacked), the size only described them.
    if size is not None and data is None:
        if type(size) is not int or size < 0:
            raise where.error(f"parameters.binary_data_size must be a non-negative integer, got {reprlib.repr(size)}.")
        if offset + size > len(binary):
            raise where.error(
                f"binary_data_size is {size}, but only {len(binary) - offset} bytes of binary data are left in the "
                f"body; send the tensor's bytes after the JSON header and set {HEADER_LENGTH} to that header's length."
            )
        blob = binary[offset : offset + size]
        offset += size
    elif "data" not in item:
        raise where.error("has neither data nor parameters.binary_data_size; send its values in one of them.")
    wire = _Wire(where, datatype, shape, math.prod(shape), content_type, container, data, blob)
    return wire, offset


def _decode_value(spec: TensorSpec, wire: _Wire) -> Any:
    kind = spec.kind
    if kind is ValueKind.ndarray:
        if wire.datatype == "BYTES":
            return _bytes_array(wire)
        return _numbers(wire).reshape(wire.shape)
    if wire.datatype not in _CARRIERS[kind]:
        raise wire.where.error(
            f"datatype {wire.datatype} cannot carry {_DESCRIBED[kind]}; send it as {_SENT_AS[kind]} with shape [1]."
        )
    if wire.count != 1:
        raise wire.where.error(
            f"{_DESCRIBED[kind]} travels as one value, but shape {wire.shape} holds {wire.count}; send shape [1]."
        )
    if wire.datatype != "BYTES":
        number = _numbers(wire)[0].item()
        return {ValueKind.int: int, ValueKind.float: float, ValueKind.bool: bool}[kind](number)
    elements, _ = _elements(wire)
    if kind is ValueKind.str:
        return _text(elements[0], wire.where)
    if kind is ValueKind.bytes:
        return _as_bytes(elements[0])
    try:
        value = orjson.loads(elements[0])
    except orjson.JSONDecodeError as exc:
        raise wire.where.error(f"is not valid JSON ({exc}); send a JSON object or array as UTF-8 text.") from exc
    if not isinstance(value, (dict, list)):
        raise wire.where.error(f"holds JSON {type(value).__name__}, but the signature expects an object or array.")
    return value


def _numbers(wire: _Wire) -> np.ndarray[Any, Any]:
    """The tensor's values as a flat, writable, native-order array of its datatype."""
    dtype = _NUMERIC[wire.datatype]
    if wire.blob is not None:
        return _numbers_from_binary(wire, wire.blob, dtype)
    return _numbers_from_json(wire, dtype)


def _numbers_from_binary(wire: _Wire, blob: memoryview, dtype: np.dtype[Any]) -> np.ndarray[Any, Any]:
    needed = wire.count * dtype.itemsize
    if len(blob) != needed:
        raise wire.where.error(
            f"datatype {wire.datatype} with shape {wire.shape} needs {needed} bytes, but binary_data_size is "
            f"{len(blob)}; send {dtype.itemsize} byte(s) per value, little-endian."
        )
    numbers = np.frombuffer(blob, dtype=dtype).astype(dtype.newbyteorder("="))
    if wire.datatype == "BOOL" and numbers.size and numbers.view(np.uint8).max() > 1:
        raise wire.where.error("BOOL data must be bytes 0 or 1; send one byte per value.")
    return numbers


def _numbers_from_json(wire: _Wire, dtype: np.dtype[Any]) -> np.ndarray[Any, Any]:
    data = wire.data
    if not isinstance(data, list):
        raise wire.where.error(f"data must be a list of numbers, got {type(data).__name__}.")
    target = _NATIVE[wire.datatype]
    try:
        if dtype.kind == "f":
            # One pass that also reads "nan", "inf" and "-inf" as this codec writes them, and null for NaN as
            # MLServer writes it; values beyond FP16/FP32's range become ±inf, as numpy casts them.
            with np.errstate(over="ignore"):
                parsed = np.array(data, dtype=target)
        else:
            parsed = np.asarray(data)  # integers and booleans are checked before they are cast
    except (ValueError, TypeError) as exc:
        raise wire.where.error(
            f'data must be a flat (or evenly nested) list of numbers, "nan", "inf", "-inf" or null ({exc}).'
        ) from exc
    if parsed.size != wire.count:
        raise wire.where.error(_count_problem(wire, f"{parsed.size} values"))
    parsed = parsed.reshape(-1)
    if dtype.kind == "f":
        return parsed  # already of the target dtype
    if parsed.size == 0:
        return parsed.astype(target)
    if dtype.kind == "b":
        if parsed.dtype.kind != "b":
            raise wire.where.error("BOOL data must be true or false.")
        return parsed
    integers = parsed if parsed.dtype.kind in "iu" else _python_integers(data)
    info = np.iinfo(dtype)
    if integers is None or integers.min() < info.min or integers.max() > info.max:
        raise wire.where.error(f"{wire.datatype} data must be integers from {info.min} to {info.max}.")
    return integers.astype(target)


def _python_integers(data: list[Any]) -> np.ndarray[Any, Any] | None:
    """The values as exact Python ints, or None if any is not an int.

    numpy reads a list that mixes ints above 2**63 with smaller ones as float64, losing precision.
    """
    flat = np.asarray(data, dtype=object).ravel()
    return flat if all(type(value) is int for value in flat.tolist()) else None


def _count_problem(wire: _Wire, got: str) -> str:
    return (
        f"datatype {wire.datatype} with shape {wire.shape} needs {wire.count} values, got {got}; "
        "send as many values as the shape holds."
    )


def _elements(wire: _Wire) -> tuple[list[Any], bool]:
    """A BYTES tensor's elements and whether they are text (str) rather than raw bytes."""
    raw = _json_elements(wire) if wire.blob is None else _binary_elements(wire, wire.blob)
    if wire.content_type == BASE64_CONTENT_TYPE:
        return [_unbase64(element, wire.where) for element in raw], False
    if wire.blob is None and all(isinstance(element, str) for element in raw):
        return raw, True
    if wire.content_type == STR_CONTENT_TYPE or wire.container == "str":
        return [_text(element, wire.where) for element in raw], True
    return [_as_bytes(element) for element in raw], False


def _json_elements(wire: _Wire) -> list[Any]:
    """The elements of a BYTES tensor's `data`: str from JSON, bytes from gRPC contents (typed or raw)."""
    data = wire.data
    if not isinstance(data, list):
        raise wire.where.error(f"data must be a list of strings, got {type(data).__name__}.")
    flat = data
    if not all(isinstance(element, (str, bytes)) for element in data):
        try:
            flat = np.asarray(data, dtype=object).ravel().tolist()
        except (ValueError, TypeError) as exc:
            raise wire.where.error(f"BYTES data must be a flat (or evenly nested) list of strings ({exc}).") from exc
        if not all(isinstance(element, (str, bytes)) for element in flat):
            odd = next(element for element in flat if not isinstance(element, (str, bytes)))
            raise wire.where.error(
                f"BYTES data must be strings, got {type(odd).__name__}; send text, or bytes as base64 with "
                f"content_type '{BASE64_CONTENT_TYPE}'."
            )
    if len(flat) != wire.count:
        raise wire.where.error(_count_problem(wire, f"{len(flat)} values"))
    return flat


def _binary_elements(wire: _Wire, blob: memoryview) -> list[bytes]:
    elements: list[bytes] = []
    offset = 0
    while offset < len(blob):
        if len(elements) == wire.count:
            raise wire.where.error(_count_problem(wire, "more") + " Check binary_data_size.")
        if offset + 4 > len(blob):
            raise wire.where.error(
                f"element {len(elements)} has a truncated length prefix; prefix each BYTES element with its "
                "length as 4 little-endian bytes."
            )
        (length,) = _U32.unpack_from(blob, offset)
        offset += 4
        if offset + length > len(blob):
            raise wire.where.error(
                f"element {len(elements)} declares {length} bytes, but only {len(blob) - offset} are left in "
                "the tensor; prefix each BYTES element with its own length."
            )
        elements.append(bytes(blob[offset : offset + length]))
        offset += length
    if len(elements) != wire.count:
        raise wire.where.error(_count_problem(wire, f"{len(elements)} values"))
    return elements


def _bytes_array(wire: _Wire) -> np.ndarray[Any, Any]:
    elements, text = _elements(wire)
    container = wire.container or ("str" if text else "object")
    if container == "str" and not text:
        elements = [_text(element, wire.where) for element in elements]
    elif container == "bytes" and text:
        elements = [_as_bytes(element) for element in elements]
    if container == "object":
        array = np.empty(len(elements), dtype=object)
        array[:] = elements
        return array.reshape(wire.shape)
    width = max(map(len, elements), default=0)
    padded = len(elements) * width * (4 if container == "str" else 1)
    if padded > _MAX_PADDED_BYTES and padded > 16 * sum(map(len, elements)):
        raise wire.where.error(
            f"as a {container} array, padded to its longest element ({width}), it would take {padded} bytes; "
            f"send parameters.{DTYPE_PARAMETER} 'object' to keep each element its own size."
        )
    return np.array(elements, dtype=container).reshape(wire.shape)


def _text(element: str | bytes, where: _Where) -> str:
    if isinstance(element, str):
        return element
    try:
        return element.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise where.error(
            f"holds bytes that are not UTF-8 text ({exc.reason} at byte {exc.start}); send text as UTF-8, "
            f"or raw bytes as base64 with content_type '{BASE64_CONTENT_TYPE}'."
        ) from exc


def _as_bytes(element: str | bytes) -> bytes:
    return element.encode() if isinstance(element, str) else element


def _unbase64(element: str | bytes, where: _Where) -> bytes:
    try:
        return base64.b64decode(element, validate=True)
    except ValueError as exc:  # binascii.Error, or a str with non-ASCII characters
        raise where.error(
            f"has content_type '{BASE64_CONTENT_TYPE}' but holds invalid base64 ({exc}); base64-encode the bytes."
        ) from exc


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(f"'{name}'" for name in names)
