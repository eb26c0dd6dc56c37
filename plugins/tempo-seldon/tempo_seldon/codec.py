"""The Seldon Core v1 protocol over REST: Python values to SeldonMessage JSON bodies, and back.

A SeldonMessage (see `seldon-prediction.proto`) carries one payload: `data` (an `ndarray` of nested lists, or a
`tensor` of `shape` and `values`, with optional column `names`), `strData`, `binData` (base64 in JSON) or
`jsonData`. tempo maps a signature onto it like this:

- one array: `data.ndarray`. tempo also records each array's dtype and shape in `meta.tags["tempo.arrays"]`, so
  arrays come back with the dtype and shape they had (str arrays with the width of their longest element). Without
  that tag, as from a Seldon prepackaged server or another client, an array is read from `data.ndarray` or
  `data.tensor` as JSON gives it.
- one str: `strData`; one bytes: `binData`; one dict or list: `jsonData`; one int, float or bool: `jsonData`.
- several inputs, or a tuple of outputs: `jsonData`, an object with one member per input (or output) name. Arrays
  in it are nested lists (dtype and shape in the tag above), bytes are base64 text, the rest is plain JSON.

Non-finite floats travel as the strings "nan", "inf" and "-inf", since JSON has no numbers for them.

A request that does not fit the signature raises ArgumentError naming the input; a response that does not,
PredictionError naming the output; a response that carries a failure `status` (or an `error`) raises RemoteError.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import reprlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from tempo_core.errors import ArgumentError, PredictionError, RemoteError, TempoError
from tempo_core.signature import Signature, TensorSpec, ValueKind

__all__ = [
    "encode_request",
    "decode_request",
    "encode_response",
    "decode_response",
    "ARRAYS_TAG",
    "JSON_HEADERS",
]

ARRAYS_TAG = "tempo.arrays"
JSON_HEADERS = {"Content-Type": "application/json"}
_PAYLOADS = ("data", "strData", "binData", "jsonData")
# The dtypes an array may have on the wire, by the name the tag records.
_NUMERIC = {
    name: np.dtype(name)
    for name in (
        "bool",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "float16",
        "float32",
        "float64",
    )
}
_TEXT = ("str", "bytes", "object")
_MAX_DIMS = 32
# numpy pads every element of a str or bytes array to the longest one, so a short body could ask for a huge array:
# refuse one that would take more than this and 16 times its elements' own size.
_MAX_PADDED_BYTES = 2**30
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


@dataclass(frozen=True)
class _Side:
    """Inputs or outputs: how messages name them and which error they raise."""

    role: str
    body: str
    error_class: type[TempoError]

    def error(self, name: str, problem: str) -> TempoError:
        return self.error_class(f"{self.role} '{name}': {problem}")

    def body_error(self, problem: str) -> TempoError:
        return self.error_class(f"{self.body} body: {problem}")


_INPUTS = _Side("input", "request", ArgumentError)
_OUTPUTS = _Side("output", "response", PredictionError)


# ---------------------------------------------------------------- public API


def encode_request(signature: Signature, arguments: Mapping[str, Any]) -> bytes:
    """Encode arguments bound by input name as a SeldonMessage request body."""
    names = signature.input_names()
    unexpected = [name for name in arguments if name not in names]
    if unexpected:
        raise ArgumentError(
            f"unexpected argument(s) {_quoted(unexpected)}; the model takes {_quoted(names) or 'no inputs'}."
        )
    single = len(signature.inputs) == 1
    return _dump(_encode_message(signature.inputs, dict(arguments), _INPUTS, single=single))


def decode_request(signature: Signature, body: bytes) -> dict[str, Any]:
    """Decode a SeldonMessage request body into arguments by input name."""
    message = _load(body, _INPUTS)
    single = len(signature.inputs) == 1
    return _decode_message(signature.inputs, message, _INPUTS, single=single)


def encode_response(signature: Signature, model_name: str, value: Any) -> bytes:
    """Encode what a model returned as a SeldonMessage response body."""
    specs = signature.outputs
    if not signature.multiple_outputs:
        return _dump(_encode_message(specs, {specs[0].name: value}, _OUTPUTS, single=True))
    if not isinstance(value, (tuple, list)) or len(value) != len(specs):
        got = f"a {type(value).__name__} of {len(value)}" if isinstance(value, (tuple, list)) else type(value).__name__
        raise PredictionError(
            f"model '{model_name}' returned {got}, but its signature declares {len(specs)} outputs "
            f"({_quoted([spec.name for spec in specs])}); return a tuple of that length."
        )
    values = {spec.name: item for spec, item in zip(specs, value, strict=True)}
    return _dump(_encode_message(specs, values, _OUTPUTS, single=False))


def decode_response(signature: Signature, body: bytes) -> Any:
    """Decode a SeldonMessage response body into the value the in-process call returns (a tuple for several)."""
    message = _load(body, _OUTPUTS)
    _raise_failure(message)
    specs = signature.outputs
    values = _decode_message(specs, message, _OUTPUTS, single=not signature.multiple_outputs)
    if not signature.multiple_outputs:
        return values[specs[0].name]
    return tuple(values.get(spec.name) for spec in specs)


# ---------------------------------------------------------------- messages


def _encode_message(
    specs: tuple[TensorSpec, ...], values: dict[str, Any], side: _Side, *, single: bool
) -> dict[str, Any]:
    arrays: dict[str, dict[str, Any]] = {}
    if single:
        spec = specs[0]
        value = values.get(spec.name)
        if value is None:
            _check_optional(spec, side)
            message: dict[str, Any] = {"jsonData": None}
        else:
            message = _payload(spec, value, side, arrays)
    else:
        members = {}
        for spec in specs:
            value = values.get(spec.name)
            if value is None:
                _check_optional(spec, side)
                continue
            members[spec.name] = _member(spec, value, side, arrays)
        message = {"jsonData": members}
    if arrays:
        message["meta"] = {"tags": {ARRAYS_TAG: arrays}}
    return message


def _decode_message(
    specs: tuple[TensorSpec, ...], message: dict[str, Any], side: _Side, *, single: bool
) -> dict[str, Any]:
    arrays = _arrays_tag(message, side)
    present = [key for key in _PAYLOADS if message.get(key) is not None]
    if single:
        spec = specs[0]
        if not present and "jsonData" in message:  # an explicit null: an Optional value that is None
            _check_optional(spec, side)
            return {spec.name: None}
        if len(present) != 1:
            raise side.body_error(
                f"a SeldonMessage carries exactly one of {', '.join(_PAYLOADS)}, got {', '.join(present) or 'none'}; "
                f"send {spec.name} in {_payload_key(spec)}."
            )
        return {spec.name: _read_payload(spec, present[0], message[present[0]], side, arrays.get(spec.name))}
    members = message.get("jsonData")
    if present != ["jsonData"] or not isinstance(members, dict):
        raise side.body_error(
            f"several {side.role}s travel as jsonData, an object with one member per {side.role} name "
            f"({_quoted([spec.name for spec in specs])}); got {', '.join(present) or 'no payload'}."
        )
    names = [spec.name for spec in specs]
    unexpected = [name for name in members if name not in names]
    if unexpected:
        raise side.body_error(
            f"unexpected {side.role}(s) {_quoted(unexpected)} in jsonData; expected {_quoted(names)}."
        )
    values: dict[str, Any] = {}
    for spec in specs:
        if members.get(spec.name) is None:
            if not spec.optional:
                raise side.error(spec.name, "is missing from jsonData; send a value for it.")
            continue
        values[spec.name] = _read_member(spec, members[spec.name], side, arrays.get(spec.name))
    return values


def _check_optional(spec: TensorSpec, side: _Side) -> None:
    if not spec.optional:
        raise side.error(spec.name, "is missing or None, but the signature does not mark it Optional; pass a value.")


def _payload_key(spec: TensorSpec) -> str:
    return {ValueKind.ndarray: "data.ndarray", ValueKind.str: "strData", ValueKind.bytes: "binData"}.get(
        spec.kind, "jsonData"
    )


def _raise_failure(message: dict[str, Any]) -> None:
    status = message.get("status")
    if isinstance(status, dict) and str(status.get("status", "")).upper() == "FAILURE":
        code = status.get("code")
        detail = status.get("info") or status.get("reason") or "no details"
        raise RemoteError(
            f"the model answered with a failure status: {detail}", status_code=code if type(code) is int else None
        )
    if message.get("error") is not None:
        raise RemoteError(f"the model answered with an error: {message['error']}")


def _dump(message: dict[str, Any]) -> bytes:
    return json.dumps(message, allow_nan=False, separators=(",", ":")).encode()


def _load(body: bytes, side: _Side) -> dict[str, Any]:
    try:
        message = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise side.body_error(f"is not JSON ({exc}); send a SeldonMessage as application/json.") from exc
    if not isinstance(message, dict):
        raise side.body_error(f"must be a JSON object (a SeldonMessage), got {type(message).__name__}.")
    return message


def _arrays_tag(message: dict[str, Any], side: _Side) -> dict[str, Any]:
    meta = message.get("meta") or {}
    tags = meta.get("tags") if isinstance(meta, dict) else None
    arrays = (tags or {}).get(ARRAYS_TAG) if isinstance(tags, dict) else None
    if arrays is None:
        return {}
    if not isinstance(arrays, dict):
        raise side.body_error(f"meta.tags['{ARRAYS_TAG}'] must be an object of array descriptions.")
    return arrays


# ---------------------------------------------------------------- encoding values


def _payload(spec: TensorSpec, value: Any, side: _Side, arrays: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A single value as the one payload of a message."""
    if spec.kind is ValueKind.ndarray:
        return {"data": {"ndarray": _array_listed(spec.name, value, side, arrays)}}
    if spec.kind is ValueKind.str:
        return {"strData": _checked_str(spec.name, value, side)}
    if spec.kind is ValueKind.bytes:
        return {"binData": _checked_base64(spec.name, value, side)}
    return {"jsonData": _member(spec, value, side, arrays)}


def _member(spec: TensorSpec, value: Any, side: _Side, arrays: dict[str, dict[str, Any]]) -> Any:
    """A value as one member of jsonData (or as jsonData itself for a JSON or scalar value)."""
    kind = spec.kind
    if kind is ValueKind.ndarray:
        return _array_listed(spec.name, value, side, arrays)
    if kind is ValueKind.str:
        return _checked_str(spec.name, value, side)
    if kind is ValueKind.bytes:
        return _checked_base64(spec.name, value, side)
    if kind is ValueKind.json:
        if not isinstance(value, (dict, list)):
            raise side.error(spec.name, _wrong_type("a dict or list", value))
        try:
            return json.loads(json.dumps(value, allow_nan=False, default=_json_default))
        except (TypeError, ValueError) as exc:
            raise side.error(spec.name, f"cannot be written as JSON ({exc}); use JSON-compatible values.") from exc
    if kind is ValueKind.bool:
        if not isinstance(value, (bool, np.bool_)):
            raise side.error(spec.name, _wrong_type("a bool", value))
        return bool(value)
    if kind is ValueKind.int:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise side.error(spec.name, _wrong_type("an int", value))
        return int(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise side.error(spec.name, _wrong_type("a float", value))
    number = float(value)
    return number if math.isfinite(number) else _non_finite_text(number)


def _json_default(value: Any) -> Any:
    """numpy scalars and arrays inside a dict or list, as JSON values."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _checked_str(name: str, value: Any, side: _Side) -> str:
    if not isinstance(value, str):
        raise side.error(name, _wrong_type("a str", value))
    return value


def _checked_base64(name: str, value: Any, side: _Side) -> str:
    if not isinstance(value, (bytes, bytearray)):
        raise side.error(name, _wrong_type("bytes", value))
    return base64.b64encode(bytes(value)).decode("ascii")


def _array_listed(name: str, value: Any, side: _Side, arrays: dict[str, dict[str, Any]]) -> Any:
    """An array as nested lists, recording its dtype and shape in `arrays`."""
    if isinstance(value, np.generic):
        value = np.asarray(value)
    if not isinstance(value, np.ndarray):
        raise side.error(name, _wrong_type("a numpy array", value) + " Convert it with np.asarray(...).")
    shape = list(value.shape)
    if value.ndim == 0:  # data.ndarray is a list: a 0-d array travels as one element, its shape in the tag
        value = value.reshape(1)
    dtype = value.dtype
    if dtype.name in _NUMERIC:
        dtype_name = dtype.name
        if dtype.kind == "f" and not np.isfinite(value).all():
            listed: Any = _with_non_finite_text(value)
        else:
            listed = value.tolist()
    elif dtype.kind == "U":
        dtype_name, listed = "str", value.tolist()
    elif dtype.kind == "S":
        dtype_name = "bytes"
        listed = _map_nested(value, lambda element: base64.b64encode(element).decode("ascii"))
    elif dtype.kind == "O" and all(isinstance(element, str) for element in value.ravel().tolist()):
        dtype_name, listed = "object", value.tolist()
    else:
        raise side.error(
            name,
            f"dtype {dtype} has no Seldon protocol encoding; convert it with .astype(...) to bool, an integer or "
            "float type, or str.",
        )
    arrays[name] = {"dtype": dtype_name, "shape": shape}
    return listed


def _with_non_finite_text(value: np.ndarray[Any, Any]) -> Any:
    return _map_nested(value, lambda number: number if math.isfinite(number) else _non_finite_text(number))


def _map_nested(value: np.ndarray[Any, Any], function: Any) -> Any:
    flat = [function(element) for element in value.ravel().tolist()]
    holder = np.empty(len(flat), dtype=object)
    holder[:] = flat
    return holder.reshape(value.shape).tolist()


def _non_finite_text(number: float) -> str:
    return "nan" if math.isnan(number) else ("inf" if number > 0 else "-inf")


# ---------------------------------------------------------------- decoding values


def _read_payload(spec: TensorSpec, key: str, payload: Any, side: _Side, tag: Any) -> Any:
    expected = _payload_key(spec).split(".")[0]
    if key != expected:
        raise side.error(spec.name, f"expects its value in {_payload_key(spec)}, but the message carries {key}.")
    if spec.kind is ValueKind.ndarray:
        return _read_data(spec.name, payload, side, tag)
    return _read_member(spec, payload, side, tag)


def _read_data(name: str, data: Any, side: _Side, tag: Any) -> np.ndarray[Any, Any]:
    if not isinstance(data, dict):
        raise side.error(name, f"data must be an object with ndarray or tensor, got {type(data).__name__}.")
    if data.get("ndarray") is not None:
        return _read_array(name, data["ndarray"], side, tag)
    tensor = data.get("tensor")
    if isinstance(tensor, dict):
        shape = _shape(name, tensor.get("shape"), side)
        values = tensor.get("values")
        array = _read_array(name, values, side, tag or {"dtype": "float64", "shape": shape})
        if list(array.shape) != shape:
            raise side.error(name, f"tensor.shape is {shape}, but the tag says {list(array.shape)}.")
        return array
    raise side.error(
        name,
        f"data has neither ndarray nor tensor (got {_quoted(list(data)) or 'nothing'}); send the array as "
        "data.ndarray (nested lists).",
    )


def _read_member(spec: TensorSpec, value: Any, side: _Side, tag: Any) -> Any:
    kind, name = spec.kind, spec.name
    if kind is ValueKind.ndarray:
        return _read_array(name, value, side, tag)
    if kind is ValueKind.str:
        if not isinstance(value, str):
            raise side.error(name, _wrong_json("a string", value))
        return value
    if kind is ValueKind.bytes:
        return _unbase64(name, value, side)
    if kind is ValueKind.json:
        if not isinstance(value, (dict, list)):
            raise side.error(name, _wrong_json("a JSON object or array", value))
        return value
    if kind is ValueKind.bool:
        if type(value) is not bool:
            raise side.error(name, _wrong_json("true or false", value))
        return value
    if kind is ValueKind.int:
        if type(value) is not int:
            raise side.error(name, _wrong_json("an integer", value))
        return value
    if type(value) in (int, float):
        return float(value)
    if isinstance(value, str) and value in _NON_FINITE:
        return _NON_FINITE[value]
    raise side.error(name, _wrong_json('a number (or "nan", "inf", "-inf")', value))


def _unbase64(name: str, value: Any, side: _Side) -> bytes:
    if not isinstance(value, str):
        raise side.error(name, _wrong_json("base64 text", value))
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise side.error(name, f"is not valid base64 ({exc}); base64-encode the bytes.") from exc


def _shape(name: str, shape: Any, side: _Side) -> list[int]:
    if (
        not isinstance(shape, list)
        or len(shape) > _MAX_DIMS
        or not all(type(size) is int and size >= 0 for size in shape)
    ):
        raise side.error(
            name,
            f"shape must be a list of at most {_MAX_DIMS} non-negative integers, got {reprlib.repr(shape)}.",
        )
    return shape


def _read_array(name: str, listed: Any, side: _Side, tag: Any) -> np.ndarray[Any, Any]:
    if not isinstance(listed, list):
        raise side.error(name, _wrong_json("an array of nested lists", listed))
    if tag is None:
        return _untagged_array(name, listed, side)
    if not isinstance(tag, dict) or (tag.get("dtype") not in _NUMERIC and tag.get("dtype") not in _TEXT):
        raise side.error(
            name,
            f"meta.tags['{ARRAYS_TAG}'] describes it as {reprlib.repr(tag)}; give dtype as one of "
            f"{', '.join([*_NUMERIC, *_TEXT])} and shape as a list.",
        )
    shape = _shape(name, tag.get("shape"), side)
    dtype_name: str = tag["dtype"]
    try:
        flat = np.asarray(listed, dtype=object).ravel()
    except ValueError as exc:
        raise side.error(name, f"is not a rectangular array of nested lists ({exc}).") from exc
    if flat.size != math.prod(shape):
        raise side.error(name, f"shape {shape} holds {math.prod(shape)} values, but the lists hold {flat.size}.")
    elements = flat.tolist()
    if dtype_name in _NUMERIC:
        array = _numbers(name, elements, _NUMERIC[dtype_name], side)
    else:
        array = _texts(name, elements, dtype_name, side)
    return array.reshape(shape)


def _untagged_array(name: str, listed: list[Any], side: _Side) -> np.ndarray[Any, Any]:
    try:
        array = np.asarray(listed)
    except ValueError as exc:
        raise side.error(name, f"is not a rectangular array of nested lists ({exc}).") from exc
    if array.dtype.kind not in "biufU":
        raise side.error(name, "must hold numbers, booleans or strings, each list as long as its siblings.")
    return array


def _numbers(name: str, elements: list[Any], dtype: np.dtype[Any], side: _Side) -> np.ndarray[Any, Any]:
    if dtype.kind == "f":
        if not all(
            type(element) in (int, float) or (isinstance(element, str) and element in _NON_FINITE)
            for element in elements
        ):
            raise side.error(name, f'{dtype.name} data must be numbers or "nan", "inf", "-inf".')
        with np.errstate(over="ignore"):  # beyond float16/float32's range becomes ±inf, as numpy casts it
            return np.array([_NON_FINITE.get(e, e) if isinstance(e, str) else e for e in elements], dtype=dtype)
    if dtype.kind == "b":
        if not all(type(element) is bool for element in elements):
            raise side.error(name, "bool data must be true or false.")
        return np.array(elements, dtype=dtype)
    info = np.iinfo(dtype)
    if not all(type(element) is int and info.min <= element <= info.max for element in elements):
        raise side.error(name, f"{dtype.name} data must be integers from {info.min} to {info.max}.")
    return np.array(elements, dtype=dtype)


def _texts(name: str, elements: list[Any], dtype_name: str, side: _Side) -> np.ndarray[Any, Any]:
    if not all(isinstance(element, str) for element in elements):
        raise side.error(name, f"{dtype_name} data must be strings.")
    if dtype_name == "object":
        holder = np.empty(len(elements), dtype=object)
        holder[:] = elements
        return holder
    values: list[str] | list[bytes] = (
        elements if dtype_name == "str" else [_unbase64(name, element, side) for element in elements]
    )
    width = max(map(len, values), default=0)
    padded = len(values) * width * (4 if dtype_name == "str" else 1)
    if padded > _MAX_PADDED_BYTES and padded > 16 * sum(map(len, values)):
        raise side.error(
            name,
            f"as a {dtype_name} array padded to its longest element ({width}) it would take {padded} bytes; "
            "send it with dtype 'object' to keep each element its own size.",
        )
    return np.array(values, dtype="U" if dtype_name == "str" else "S")


# ---------------------------------------------------------------- messages for people


def _wrong_type(expected: str, value: Any) -> str:
    return f"expects {expected}, got {type(value).__name__}."


def _wrong_json(expected: str, value: Any) -> str:
    return f"expects {expected} in the message, got {reprlib.repr(value)}."


def _quoted(names: list[str]) -> str:
    return ", ".join(f"'{name}'" for name in names)
