"""The V2 codec turns what a model takes and returns into Open Inference Protocol bodies and back, unchanged."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path
from typing import Any, Optional, Tuple

import hypothesis.extra.numpy as hnp
import numpy as np
import orjson
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tempo_core.errors import ArgumentError, PredictionError, RemoteError
from tempo_core.signature import Signature, TensorSpec, ValueKind, signature_from_function
from tempo_kfserving.codec import (
    HEADER_LENGTH,
    decode_request,
    decode_request_dict,
    decode_response,
    encode_raw_inputs,
    encode_request,
    encode_response,
    encode_response_dict,
)

SPECS = Path(__file__).parent / "specs" / "open_inference_rest.yaml"
NUMERIC_DTYPES = [
    "bool",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "int8",
    "int16",
    "int32",
    "int64",
    "float16",
    "float32",
    "float64",
]
SHAPES = [(), (0,), (3,), (2, 3), (0, 4), (2, 1, 3)]
BOTH_ENCODINGS = pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])


def scorer(
    payload: np.ndarray, label: str, raw: bytes, meta: dict, count: int, threshold: float, flag: bool
) -> Tuple[np.ndarray, str, bytes, dict, int, float, bool]:
    """A model that takes and returns one value of every kind."""
    return payload, label, raw, meta, count, threshold, flag


SCORER = signature_from_function(scorer, model_name="scorer")
SCORER_ARGUMENTS: dict[str, Any] = {
    "payload": np.arange(6, dtype=np.float32).reshape(2, 3),
    "label": "héllo ☃",
    "raw": b"\xff\x00\xfe",
    "meta": {"threshold": 0.5, "tags": ["a", "b"], "nested": {"n": None}},
    "count": -(2**63),
    "threshold": 0.1,
    "flag": True,
}


def array_signature() -> Signature:
    return Signature(inputs=(TensorSpec(name="payload"),), outputs=(TensorSpec(name="output0"),))


def kind_signature(kind: ValueKind) -> Signature:
    return Signature(inputs=(TensorSpec(name="value", kind=kind),), outputs=(TensorSpec(name="output0", kind=kind),))


def through_request(signature: Signature, arguments: dict[str, Any], binary: bool) -> dict[str, Any]:
    body, headers = encode_request(signature, arguments, binary=binary)
    return decode_request(signature, body, headers)


def through_response(signature: Signature, value: Any, binary: bool) -> Any:
    body, headers = encode_response(signature, "model", value, binary=binary)
    return decode_response(signature, body, headers)


def assert_same(actual: Any, expected: Any) -> None:
    """Equal in type and value; arrays also in dtype (str and bytes arrays: in kind) and shape, NaN equal to NaN."""
    assert type(actual) is type(expected)
    if isinstance(expected, np.ndarray):
        assert actual.shape == expected.shape
        if expected.dtype.kind in "US":
            assert actual.dtype.kind == expected.dtype.kind  # numpy sizes str/bytes arrays to their longest element
        else:
            assert actual.dtype == expected.dtype
        if expected.dtype.kind == "f":
            assert np.array_equal(actual, expected, equal_nan=True)
            numbers = ~np.isnan(expected)
            assert np.array_equal(np.signbit(actual[numbers]), np.signbit(expected[numbers]))  # -0.0 stays -0.0
        else:
            assert actual.tolist() == expected.tolist()
    elif isinstance(expected, tuple):
        assert len(actual) == len(expected)
        for actual_item, expected_item in zip(actual, expected, strict=True):
            assert_same(actual_item, expected_item)
    elif isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(actual)
    else:
        assert actual == expected


# ---------------------------------------------------------------- round trips


@BOTH_ENCODINGS
@pytest.mark.parametrize("dtype", NUMERIC_DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_every_numeric_dtype_and_shape_survives_a_request_and_a_response(
    dtype: str, shape: tuple[int, ...], binary: bool
) -> None:
    array = (np.arange(math.prod(shape)) % 7 - 3).astype(dtype).reshape(shape)
    assert_same(through_request(array_signature(), {"payload": array}, binary)["payload"], array)
    assert_same(through_response(array_signature(), array, binary), array)


@BOTH_ENCODINGS
def test_a_value_of_every_kind_survives_a_request_and_a_response(binary: bool) -> None:
    decoded = through_request(SCORER, SCORER_ARGUMENTS, binary)
    for name, value in SCORER_ARGUMENTS.items():
        assert_same(decoded[name], value)
    returned = tuple(SCORER_ARGUMENTS.values())
    assert_same(through_response(SCORER, returned, binary), returned)


@BOTH_ENCODINGS
@pytest.mark.parametrize(
    ("kind", "value"),
    [
        (ValueKind.str, ""),
        (ValueKind.str, "\x00 nul, emoji 🎉 and 中文"),
        (ValueKind.bytes, b""),
        (ValueKind.bytes, bytes(range(256))),
        (ValueKind.json, []),
        (ValueKind.json, {"list": [1, 2.5, None, True, "x"], "empty": {}}),
        (ValueKind.int, 0),
        (ValueKind.int, 2**63 - 1),
        (ValueKind.float, -0.0),
        (ValueKind.float, float("inf")),
        (ValueKind.float, float("nan")),
        (ValueKind.float, 1e-310),
        (ValueKind.bool, False),
    ],
)
def test_edge_values_of_each_kind_come_back_unchanged(kind: ValueKind, value: Any, binary: bool) -> None:
    signature = kind_signature(kind)
    assert_same(through_request(signature, {"value": value}, binary)["value"], value)
    assert_same(through_response(signature, value, binary), value)


@BOTH_ENCODINGS
@pytest.mark.parametrize(
    "array",
    [
        np.array([["a", "bé"], ["", "ccc"]]),
        np.array([b"a", b"\xff\xfe", b""]),
        np.array(["x", "yé", ""], dtype=object),
        np.array([b"\x00trailing nul\x00", b"\xff"], dtype=object),
        np.empty((0, 2), dtype=object),
        np.array([], dtype=str),
    ],
    ids=["str", "bytes", "object-str", "object-bytes", "object-empty", "str-empty"],
)
def test_text_and_bytes_arrays_keep_their_kind_and_elements(array: np.ndarray, binary: bool) -> None:
    assert_same(through_request(array_signature(), {"payload": array}, binary)["payload"], array)
    assert_same(through_response(array_signature(), array, binary), array)


@BOTH_ENCODINGS
def test_special_floats_survive_even_in_json(binary: bool) -> None:
    array = np.array([np.nan, np.inf, -np.inf, -0.0, 1e-45, 3.4028235e38], dtype=np.float32)
    assert_same(through_request(array_signature(), {"payload": array}, binary)["payload"], array)


@BOTH_ENCODINGS
def test_fortran_order_strided_and_big_endian_arrays_travel_by_value(binary: bool) -> None:
    fortran = np.asfortranarray(np.arange(12, dtype=np.int32).reshape(3, 4))
    strided = np.arange(20, dtype=np.float64)[::3]
    big_endian = np.arange(5, dtype=">f4")
    for array in (fortran, strided, big_endian):
        decoded = through_request(array_signature(), {"payload": array}, binary)["payload"]
        assert decoded.tolist() == array.tolist()
        assert decoded.dtype == array.dtype.newbyteorder("=")


@BOTH_ENCODINGS
def test_decoded_arrays_are_writable_for_models_that_work_in_place(binary: bool) -> None:
    decoded = through_request(array_signature(), {"payload": np.ones((2, 2), dtype=np.float32)}, binary)["payload"]
    decoded /= 2
    assert decoded.tolist() == [[0.5, 0.5], [0.5, 0.5]]


# One FP64 input as JSON clients send it: flat or nested data, special values as text or null, a content type.
PLAIN_FP64_TENSORS = [
    {"shape": [2, 2], "data": [1.5, -0.0, 3, 4]},
    {"shape": [2, 2], "data": [[1.5, -0.0], [3, 4]]},
    {"shape": [3], "data": ["nan", "-inf", None]},
    {"shape": [], "data": [7.25]},
    {"shape": [0, 4], "data": []},
    {"shape": [1, 4], "data": [5.9, 2.8, 4.1, 1.3], "parameters": {"content_type": "np"}},
]


@pytest.mark.parametrize("tensor", PLAIN_FP64_TENSORS)
def test_a_request_decodes_the_same_whatever_order_its_inputs_come_in(tensor: dict[str, Any]) -> None:
    signature = Signature(
        inputs=(TensorSpec(name="left"), TensorSpec(name="right")), outputs=(TensorSpec(name="output0"),)
    )
    inputs = [
        {"name": "left", "datatype": "FP64", **tensor},
        {"name": "right", "datatype": "FP64", "shape": [1], "data": [2.0]},
    ]
    in_order = decode_request(signature, orjson.dumps({"inputs": inputs}), {})
    turned = decode_request(signature, orjson.dumps({"inputs": inputs[::-1]}), {})
    assert list(in_order) == ["left", "right"] == list(turned)
    for name, array in in_order.items():
        assert_same(array, turned[name])
        assert array.flags.writeable


RETURNED_ARRAYS = {
    "float64": np.array([[12.8, 6.6, 9.2, 3.6]]),
    "int64": np.arange(6, dtype=np.int64).reshape(2, 3),
    "bool": np.array([True, False]),
    "float32": np.array([0.1, -0.0], dtype=np.float32),
    "scalar": np.array(2.5),
    "empty": np.zeros((0, 4)),
}


@pytest.mark.parametrize("array", RETURNED_ARRAYS.values(), ids=RETURNED_ARRAYS.keys())
def test_an_array_output_is_written_the_same_however_it_is_asked_for_or_stored(array: np.ndarray) -> None:
    signature = array_signature()
    plain = encode_response(signature, "model", array, request_id="r-1")
    assert plain == encode_response(signature, "model", array, outputs=["output0"], request_id="r-1")
    big_endian = array.astype(array.dtype.newbyteorder(">"))
    assert plain == encode_response(signature, "model", big_endian, request_id="r-1")


@BOTH_ENCODINGS
def test_an_optional_input_or_output_left_as_none_is_not_sent_and_comes_back_none(binary: bool) -> None:
    def tagger(payload: np.ndarray, note: Optional[str] = None) -> Tuple[np.ndarray, Optional[str]]:
        return payload, note

    signature = signature_from_function(tagger, model_name="tagger")
    body, _ = encode_request(signature, {"payload": np.zeros(2), "note": None}, binary=binary)
    assert b'"note"' not in body
    assert through_request(signature, {"payload": np.zeros(2), "note": None}, binary)["note"] is None
    returned = through_response(signature, (np.zeros(2), None), binary)
    assert returned[1] is None
    assert_same(returned[0], np.zeros(2))


def test_a_single_output_is_the_value_itself_and_several_are_a_tuple() -> None:
    single = through_response(array_signature(), np.ones(3), binary=False)
    assert isinstance(single, np.ndarray)
    several = through_response(SCORER, tuple(SCORER_ARGUMENTS.values()), binary=False)
    assert isinstance(several, tuple)
    assert len(several) == len(SCORER.outputs)


def test_requests_and_responses_say_how_they_are_encoded() -> None:
    body, headers = encode_request(array_signature(), {"payload": np.zeros(3, dtype=np.float32)})
    assert headers == {"Content-Type": "application/json"}
    assert orjson.loads(body)["inputs"] == [
        {"name": "payload", "datatype": "FP32", "shape": [3], "parameters": {"content_type": "np"}, "data": [0, 0, 0]}
    ]
    body, headers = encode_request(array_signature(), {"payload": np.zeros(3, dtype=np.float32)}, binary=True)
    header_length = int(headers[HEADER_LENGTH])
    assert headers["Content-Type"] == "application/octet-stream"
    assert orjson.loads(body[:header_length])["inputs"][0]["parameters"] == {
        "content_type": "np",
        "binary_data_size": 12,
    }
    assert body[header_length:] == bytes(12)


def test_a_binary_response_is_read_with_headers_in_any_case() -> None:
    body, headers = encode_response(array_signature(), "model", np.arange(4, dtype=np.int16), binary=True)
    lowercase = {key.lower(): value for key, value in headers.items()}
    assert_same(decode_response(array_signature(), body, lowercase), np.arange(4, dtype=np.int16))


# ---------------------------------------------------------------- properties

# Characters UTF-8 can carry: lone surrogates cannot travel (encoding them is an ArgumentError).
UTF8_CHARACTERS = st.characters(exclude_categories=["Cs"])
TEXT = st.text(UTF8_CHARACTERS)
ANY_SHAPE = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5)
ANY_ARRAY = (
    st.sampled_from(NUMERIC_DTYPES).flatmap(lambda dtype: hnp.arrays(dtype, ANY_SHAPE))
    | hnp.arrays("<U6", ANY_SHAPE, elements=hnp.from_dtype(np.dtype("<U6"), alphabet=UTF8_CHARACTERS))
    | hnp.arrays("S6", ANY_SHAPE)
)


@settings(max_examples=300, deadline=None)
@given(array=ANY_ARRAY, binary=st.booleans())
def test_any_array_of_a_supported_dtype_and_shape_round_trips(array: np.ndarray, binary: bool) -> None:
    assert_same(through_request(array_signature(), {"payload": array}, binary)["payload"], array)
    assert_same(through_response(array_signature(), array, binary), array)


@settings(max_examples=100, deadline=None)
@given(elements=st.lists(TEXT) | st.lists(st.binary()), binary=st.booleans())
def test_any_object_array_of_text_or_bytes_round_trips(elements: list[Any], binary: bool) -> None:
    array = np.empty(len(elements), dtype=object)
    array[:] = elements
    assert_same(through_request(array_signature(), {"payload": array}, binary)["payload"], array)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda children: st.lists(children) | st.dictionaries(TEXT, children),
    max_leaves=20,
)


@settings(max_examples=100, deadline=None)
@given(
    text=TEXT,
    raw=st.binary(),
    meta=st.dictionaries(TEXT, JSON_VALUES),
    count=st.integers(-(2**63), 2**63 - 1),
    threshold=st.floats(),
    flag=st.booleans(),
    binary=st.booleans(),
)
def test_any_scalar_text_bytes_or_json_value_round_trips(
    text: str, raw: bytes, meta: dict[str, Any], count: int, threshold: float, flag: bool, binary: bool
) -> None:
    arguments = {**SCORER_ARGUMENTS, "label": text, "raw": raw, "meta": meta, "count": count}
    arguments.update(threshold=threshold, flag=flag)
    decoded = through_request(SCORER, arguments, binary)
    for name, value in arguments.items():
        assert_same(decoded[name], value)


# ---------------------------------------------------------------- malformed requests

VALID_REQUEST = orjson.loads(encode_request(SCORER, SCORER_ARGUMENTS)[0])


def with_input(input_name: str, /, **changes: Any) -> bytes:
    """The valid scorer request with one input's fields changed (a value of ... removes the field)."""
    document = json.loads(json.dumps(VALID_REQUEST))
    tensor = next(tensor for tensor in document["inputs"] if tensor["name"] == input_name)
    for field, value in changes.items():
        if value is ...:
            del tensor[field]
        else:
            tensor[field] = value
    return json.dumps(document).encode()


def message_id(value: Any) -> str:
    """Names a malformed-request case by the message it expects."""
    return value if isinstance(value, str) else ""


def with_inputs(inputs: list[dict[str, Any]]) -> bytes:
    return json.dumps({"inputs": inputs}).encode()


def valid_input(name: str) -> dict[str, Any]:
    return next(tensor for tensor in VALID_REQUEST["inputs"] if tensor["name"] == name)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            with_input("payload", datatype="FLOAT"),
            "input 'payload': inputs[0].datatype is 'FLOAT', not a V2 datatype; use one of BOOL",
        ),
        (
            with_input("payload", data=[1, 2, 3, 4, 5]),
            "input 'payload': datatype FP32 with shape [2, 3] needs 6 values, got 5",
        ),
        (
            with_input("payload", shape=[-1, 3]),
            "input 'payload': inputs[0].shape must be a list of at most 32 non-negative",
        ),
        (with_input("payload", shape=[2.0, 3]), "input 'payload': inputs[0].shape must be a list"),
        (with_input("payload", shape=[1] * 40), "input 'payload': inputs[0].shape must be a list of at most 32"),
        (with_input("payload", shape=[10**12]), "input 'payload': datatype FP32 with shape [1000000000000] needs"),
        (with_input("payload", data="1,2,3"), "input 'payload': data must be a list of numbers, got str"),
        (with_input("payload", data=[[1, 2], [3]]), "input 'payload': data must be a flat (or evenly nested) list"),
        (
            with_input("payload", data=["a"] * 6),
            "input 'payload': data must be a flat (or evenly nested) list of numbers",
        ),
        (with_input("payload", datatype="INT64", data=[1.5] * 6), "input 'payload': INT64 data must be integers"),
        (
            with_input("payload", datatype="INT8", data=[300] * 6),
            "input 'payload': INT8 data must be integers from -128",
        ),
        (with_input("payload", datatype="UINT8", data=[-1] * 6), "input 'payload': UINT8 data must be integers from 0"),
        (with_input("payload", datatype="BOOL", data=[1] * 6), "input 'payload': BOOL data must be true or false"),
        (with_input("payload", data=...), "input 'payload': has neither data nor parameters.binary_data_size"),
        (with_input("payload", parameters="np"), "input 'payload': parameters must be an object"),
        (
            with_input("payload", data=..., parameters={"binary_data_size": 24}),
            "input 'payload': binary_data_size is 24, but only 0",
        ),
        (
            with_input("label", datatype="FP32", data=[1.0]),
            "input 'label': datatype FP32 cannot carry a str; send it as BYTES",
        ),
        (with_input("label", shape=[2], data=["a", "b"]), "input 'label': a str travels as one value, but shape [2]"),
        (with_input("label", data=[5]), "input 'label': BYTES data must be strings, got int"),
        (with_input("label", data=[["a", "b"]]), "input 'label': datatype BYTES with shape [1] needs 1 values, got 2"),
        (with_input("raw", data=["not base64!"]), "input 'raw': has content_type 'base64' but holds invalid base64"),
        (with_input("meta", data=["{not json"]), "input 'meta': is not valid JSON"),
        (with_input("meta", data=["42"]), "input 'meta': holds JSON int, but the signature expects an object or array"),
        (with_input("count", datatype="FP64", data=[1.0]), "input 'count': datatype FP64 cannot carry an int"),
        (with_input("flag", datatype="INT8", data=[1]), "input 'flag': datatype INT8 cannot carry a bool"),
        (with_inputs(VALID_REQUEST["inputs"][1:]), "request body: missing input(s) 'payload'"),
        (
            with_inputs([*VALID_REQUEST["inputs"], {**valid_input("label"), "name": "extra"}]),
            "unexpected input(s) 'extra'",
        ),
        (with_inputs([*VALID_REQUEST["inputs"], valid_input("label")]), "input 'label': appears twice"),
        (with_inputs([{"datatype": "FP32"}]), "request body: inputs[0] must be an object with a string 'name'"),
        (b"inputs: []", "request body: is not JSON"),
        (b'{"inputs": "\xff"}', "request body: is not JSON"),
        (b"[1, 2]", "request body: must be a JSON object, got list"),
        (b'{"inputs": {}}', "request body: 'inputs' must be a list of tensors, got dict"),
    ],
    ids=message_id,
)
def test_a_malformed_request_is_an_argument_error_that_names_the_input(body: bytes, message: str) -> None:
    with pytest.raises(ArgumentError) as raised:
        decode_request(SCORER, body, {"Content-Type": "application/json"})
    assert message in str(raised.value)


def tagger(payload: np.ndarray, label: str) -> str:
    return label


TAGGER = signature_from_function(tagger, model_name="tagger")
FP32_PAYLOAD = {"name": "payload", "datatype": "FP32", "shape": [2], "parameters": {"binary_data_size": 8}}


def binary_request(
    tensors: list[tuple[dict[str, Any], bytes]], *, trailing: bytes = b""
) -> tuple[bytes, dict[str, str]]:
    header = orjson.dumps({"inputs": [tensor for tensor, _ in tensors]})
    body = header + b"".join(blob for _, blob in tensors) + trailing
    return body, {HEADER_LENGTH: str(len(header)), "Content-Type": "application/octet-stream"}


def label_with(blob: bytes) -> dict[str, Any]:
    """A binary str input 'label' whose bytes are `blob`."""
    parameters = {"content_type": "str", "binary_data_size": len(blob)}
    return {"name": "label", "datatype": "BYTES", "shape": [1], "parameters": parameters}


LABEL = (label_with(b"\x02\x00\x00\x00ok"), b"\x02\x00\x00\x00ok")


@pytest.mark.parametrize(
    ("tensors", "trailing", "message"),
    [
        (
            [({**FP32_PAYLOAD, "shape": [3]}, bytes(8)), LABEL],
            b"",
            "input 'payload': datatype FP32 with shape [3] needs 12 bytes, but binary_data_size is 8",
        ),
        (
            [({**FP32_PAYLOAD, "parameters": {"binary_data_size": 10**12}}, bytes(8))],
            b"",
            "input 'payload': binary_data_size is 1000000000000, but only 8 bytes",
        ),
        (
            [({**FP32_PAYLOAD, "shape": [2**40]}, bytes(8)), LABEL],
            b"",
            "input 'payload': datatype FP32 with shape [1099511627776] needs 4398046511104 bytes",
        ),
        (
            [({**FP32_PAYLOAD, "parameters": {"binary_data_size": -8}}, b"")],
            b"",
            "input 'payload': parameters.binary_data_size must be a non-negative integer, got -8",
        ),
        (
            [({**FP32_PAYLOAD, "parameters": {"binary_data_size": "8"}}, bytes(8))],
            b"",
            "input 'payload': parameters.binary_data_size must be a non-negative integer, got '8'",
        ),
        (
            [({**FP32_PAYLOAD, "datatype": "BOOL", "shape": [8]}, b"\x00\x02" * 4), LABEL],
            b"",
            "input 'payload': BOOL data must be bytes 0 or 1",
        ),
        ([(FP32_PAYLOAD, bytes(8))], b"\x00" * 3, "request body: 3 bytes of binary data follow the JSON header"),
        (
            [(FP32_PAYLOAD, bytes(8)), (label_with(b"\x01\x00"), b"\x01\x00")],
            b"",
            "input 'label': element 0 has a truncated",
        ),
        (
            [(FP32_PAYLOAD, bytes(8)), (label_with(b"\xff\x00\x00\x00ab"), b"\xff\x00\x00\x00ab")],
            b"",
            "input 'label': element 0 declares 255 bytes, but only 2 are left",
        ),
        (
            [(FP32_PAYLOAD, bytes(8)), (label_with(b"\x01\x00\x00\x00a" * 2), b"\x01\x00\x00\x00a" * 2)],
            b"",
            "input 'label': datatype BYTES with shape [1] needs 1 values, got more",
        ),
        (
            [(FP32_PAYLOAD, bytes(8)), (label_with(b"\x02\x00\x00\x00\xff\xfe"), b"\x02\x00\x00\x00\xff\xfe")],
            b"",
            "input 'label': holds bytes that are not UTF-8 text",
        ),
        (
            [(FP32_PAYLOAD, bytes(8)), (label_with(b""), b"")],
            b"",
            "input 'label': datatype BYTES with shape [1] needs 1 values, got 0",
        ),
    ],
    ids=message_id,
)
def test_a_malformed_binary_request_is_an_argument_error_that_names_the_input(
    tensors: list[tuple[dict[str, Any], bytes]], trailing: bytes, message: str
) -> None:
    body, headers = binary_request(tensors, trailing=trailing)
    with pytest.raises(ArgumentError) as raised:
        decode_request(TAGGER, body, headers)
    assert message in str(raised.value)


def test_a_short_body_cannot_ask_for_a_huge_padded_str_array() -> None:
    elements = ["x" * 4000] + [""] * 300_000  # 1.2 MB of JSON that numpy would pad to 4.8 GB
    body = with_input(
        "payload",
        datatype="BYTES",
        shape=[len(elements)],
        data=elements,
        parameters={"content_type": "str", "tempo_dtype": "str"},
    )
    with pytest.raises(ArgumentError, match="input 'payload': as a str array, padded to its longest element"):
        decode_request(SCORER, body, {})


@pytest.mark.parametrize("length", ["abc", "-5", "99999", "", "\uff11\uff12", "9" * 30])  # "\uff11\uff12": fullwidth 12
def test_a_bad_header_length_is_an_argument_error(length: str) -> None:
    body, headers = binary_request([(FP32_PAYLOAD, bytes(8))])
    with pytest.raises(ArgumentError, match=f"request body: {HEADER_LENGTH} is .* but it must be the length"):
        decode_request(TAGGER, body, {**headers, HEADER_LENGTH: length})


def decode_or_error(signature: Signature, body: bytes, headers: dict[str, str]) -> dict[str, Any] | ArgumentError:
    """The decoded arguments, or the ArgumentError; any other exception fails the test."""
    try:
        return decode_request(signature, body, headers)
    except ArgumentError as exc:
        return exc


JSON_ANYTHING = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=10,
)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(list(SCORER_ARGUMENTS)),
    field=st.sampled_from(["datatype", "shape", "data", "parameters", "name"]),
    value=JSON_ANYTHING,
)
def test_whatever_a_field_holds_decoding_gives_arguments_or_an_argument_error(
    name: str, field: str, value: Any
) -> None:
    outcome = decode_or_error(SCORER, with_input(name, **{field: value}), {})
    if isinstance(outcome, ArgumentError):
        assert "input '" in str(outcome) or "request body:" in str(outcome)
    else:
        assert list(outcome) == list(SCORER_ARGUMENTS)


@settings(max_examples=300, deadline=None)
@given(cut=st.integers(0, 200), noise=st.binary(max_size=40), length=st.integers(0, 300))
def test_whatever_binary_body_arrives_decoding_gives_arguments_or_an_argument_error(
    cut: int, noise: bytes, length: int
) -> None:
    body, _ = encode_request(TAGGER, {"payload": np.ones(2, dtype=np.float32), "label": "ok"}, binary=True)
    mangled = body[:cut] + noise + body[cut + len(noise) :]
    outcome = decode_or_error(TAGGER, mangled, {HEADER_LENGTH: str(length)})
    if isinstance(outcome, ArgumentError):
        assert "input '" in str(outcome) or "request body:" in str(outcome)
    else:
        assert set(outcome) == {"payload", "label"}


# ---------------------------------------------------------------- encoding errors


def test_arguments_that_do_not_fit_the_signature_are_argument_errors_naming_the_input() -> None:
    with pytest.raises(ArgumentError, match="input 'label': expected a str, got int"):
        encode_request(SCORER, {**SCORER_ARGUMENTS, "label": 5})
    with pytest.raises(ArgumentError, match="input 'label': is missing or None"):
        encode_request(SCORER, {**SCORER_ARGUMENTS, "label": None})
    with pytest.raises(ArgumentError, match="unexpected argument\\(s\\) 'extra'"):
        encode_request(SCORER, {**SCORER_ARGUMENTS, "extra": 1})
    with pytest.raises(ArgumentError, match="input 'count': 9223372036854775808 does not fit INT64"):
        encode_request(SCORER, {**SCORER_ARGUMENTS, "count": 2**63})
    with pytest.raises(ArgumentError, match="input 'count': expected an int, got bool"):
        encode_request(SCORER, {**SCORER_ARGUMENTS, "count": True})
    with pytest.raises(ArgumentError, match="input 'payload': dtype complex128 has no V2 datatype"):
        encode_request(SCORER, {**SCORER_ARGUMENTS, "payload": np.zeros(2, dtype=complex)})
    with pytest.raises(ArgumentError, match="input 'payload': an object array must hold only str or only bytes"):
        encode_request(SCORER, {**SCORER_ARGUMENTS, "payload": np.array(["a", 1], dtype=object)})
    with pytest.raises(ArgumentError, match="input 'payload': expected a numpy array, got list"):
        encode_request(SCORER, {**SCORER_ARGUMENTS, "payload": [1, 2]})
    with pytest.raises(ArgumentError, match="input 'label': holds text that UTF-8 cannot encode"):
        encode_request(SCORER, {**SCORER_ARGUMENTS, "label": "\ud800"})
    with pytest.raises(ArgumentError, match="input 'meta': cannot be written as JSON"):
        encode_request(SCORER, {**SCORER_ARGUMENTS, "meta": {"when": object()}})


def test_a_returned_value_that_does_not_fit_the_signature_is_a_prediction_error() -> None:
    with pytest.raises(PredictionError, match="model 'scorer' returned a tuple of 2, but its signature declares 7"):
        encode_response(SCORER, "scorer", (1, 2))
    with pytest.raises(PredictionError, match="output 'output1': expected a str, got bytes"):
        encode_response(SCORER, "scorer", (np.zeros(1), b"x", b"", {}, 1, 1.0, True))
    with pytest.raises(PredictionError, match="output 'output0': is None"):
        encode_response(array_signature(), "model", None)


# ---------------------------------------------------------------- responses


def test_an_error_response_is_a_remote_error_with_the_servers_message() -> None:
    with pytest.raises(RemoteError, match="the model answered with an error: boom"):
        decode_response(SCORER, b'{"error": "boom"}', {})


def test_outputs_are_matched_by_name_in_any_order_else_by_position() -> None:
    body, headers = encode_response(SCORER, "scorer", tuple(SCORER_ARGUMENTS.values()))
    document = orjson.loads(body)
    document["outputs"].reverse()
    assert_same(decode_response(SCORER, orjson.dumps(document), headers), tuple(SCORER_ARGUMENTS.values()))
    for index, output in enumerate(document["outputs"]):
        output["name"] = f"renamed-{index}"
    document["outputs"].reverse()
    assert_same(decode_response(SCORER, orjson.dumps(document), headers), tuple(SCORER_ARGUMENTS.values()))


def test_a_response_missing_outputs_is_a_prediction_error_listing_both_sides() -> None:
    body = orjson.dumps({"model_name": "scorer", "outputs": []})
    with pytest.raises(
        PredictionError, match="response body: the outputs are none, but the signature expects 'output0'"
    ):
        decode_response(SCORER, body, {})


def test_a_malformed_output_is_a_prediction_error_that_names_it() -> None:
    body = orjson.dumps(
        {"model_name": "m", "outputs": [{"name": "output0", "datatype": "FP32", "shape": [3], "data": [1.0]}]}
    )
    with pytest.raises(
        PredictionError, match="output 'output0': datatype FP32 with shape \\[3\\] needs 3 values, got 1"
    ):
        decode_response(array_signature(), body, {})


# ---------------------------------------------------------------- the V2 specification and other implementations


@pytest.fixture(scope="module")
def v2_schema() -> Any:
    """A validator factory for the component schemas of the Open Inference Protocol's REST specification."""
    try:
        from openapi_schema_validator import OAS30Validator as validator_class
    except ImportError:
        jsonschema = pytest.importorskip("jsonschema", reason="neither openapi-schema-validator nor jsonschema")
        validator_class = jsonschema.Draft4Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    uri = "urn:open-inference-rest"
    document = yaml.safe_load(SPECS.read_text())
    registry = Registry().with_resource(uri, Resource.from_contents(document, default_specification=DRAFT4))
    return lambda name: validator_class({"$ref": f"{uri}#/components/schemas/{name}"}, registry=registry)


def test_json_requests_and_responses_follow_the_v2_rest_schema(v2_schema: Any) -> None:
    arguments = {**SCORER_ARGUMENTS, "payload": np.array([[np.nan, np.inf, 1.0]], dtype=np.float32)}
    request, _ = encode_request(SCORER, arguments)
    response, _ = encode_response(SCORER, "scorer", tuple(arguments.values()))
    assert [error.message for error in v2_schema("inference_request").iter_errors(orjson.loads(request))] == []
    assert [error.message for error in v2_schema("inference_response").iter_errors(orjson.loads(response))] == []
    strings, _ = encode_request(array_signature(), {"payload": np.array([b"\xff", b"a"])})
    assert [error.message for error in v2_schema("inference_request").iter_errors(orjson.loads(strings))] == []


def test_mlserver_codecs_decode_what_tempo_encodes() -> None:
    types = pytest.importorskip("mlserver.types")
    codecs = pytest.importorskip("mlserver.codecs")
    words = np.array(["a", "bé"])
    payload = np.array([[1.5, np.nan], [np.inf, -2.0]], dtype=np.float32)
    signature = Signature(
        inputs=(*SCORER.inputs, TensorSpec(name="words")), outputs=SCORER.outputs, multiple_outputs=True
    )
    body, _ = encode_request(signature, {**SCORER_ARGUMENTS, "payload": payload, "words": words})

    request = types.InferenceRequest.model_validate_json(body)
    codecs.decode_inference_request(request)  # decodes each input by its content type, as MLServer's runtimes do
    decoded = {each.name: codecs.get_decoded(each) for each in request.inputs if codecs.has_decoded(each)}
    assert_same(decoded["payload"], payload)
    assert decoded["label"] == [SCORER_ARGUMENTS["label"]]
    assert decoded["raw"] == [SCORER_ARGUMENTS["raw"]]
    assert decoded["words"] == ["a", "bé"]
    assert "meta" not in decoded  # tempo's own content types are left for tempo to decode


def test_tempo_decodes_what_mlserver_codecs_encode() -> None:
    types = pytest.importorskip("mlserver.types")
    codecs = pytest.importorskip("mlserver.codecs")
    payload = np.array([[1.5, np.nan], [3.0, -2.0]], dtype=np.float32)  # MLServer writes NaN as null
    request = types.InferenceRequest(
        inputs=[
            codecs.NumpyCodec.encode_input("payload", payload),
            codecs.StringCodec.encode_input("label", ["héllo"]),
            codecs.Base64Codec.encode_input("raw", [b"\xff\x00"]),
        ]
    )
    signature = Signature(
        inputs=(
            TensorSpec(name="payload"),
            TensorSpec(name="label", kind=ValueKind.str),
            TensorSpec(name="raw", kind=ValueKind.bytes),
        ),
        outputs=(TensorSpec(name="output0"),),
    )
    decoded = decode_request(signature, request.model_dump_json().encode(), {})
    assert_same(decoded["payload"], payload)
    assert decoded["label"] == "héllo"
    assert decoded["raw"] == b"\xff\x00"


def mlserver_rest_body(response: Any) -> bytes:
    """The body MLServer's REST server writes for a response (FastAPI's JSON dump, then MLServer's orjson)."""
    from mlserver.codecs.json import encode_to_json_bytes

    return encode_to_json_bytes(response.model_dump(mode="json", exclude_unset=True, exclude_none=True))


def test_a_prepackaged_mlserver_sklearn_answer_decodes_to_its_array(tmp_path: Path) -> None:
    mlserver_sklearn = pytest.importorskip("mlserver_sklearn")
    joblib = pytest.importorskip("joblib")
    from mlserver.settings import ModelParameters, ModelSettings
    from mlserver.types import InferenceRequest
    from sklearn.linear_model import LogisticRegression

    features = np.array([[0.0, 0.1], [1.0, 0.9], [0.2, 0.0], [0.9, 1.0]])
    classifier = LogisticRegression().fit(features, [0, 1, 0, 1])
    joblib.dump(classifier, tmp_path / "model.joblib")
    settings = ModelSettings(
        name="classifier",
        implementation=mlserver_sklearn.SKLearnModel,
        parameters=ModelParameters(uri=str(tmp_path / "model.joblib")),
    )
    runtime = mlserver_sklearn.SKLearnModel(settings)
    asyncio.run(runtime.load())
    signature = Signature(inputs=(TensorSpec(name="input"),), outputs=(TensorSpec(name="output0"),))

    body, _ = encode_request(signature, {"input": features})
    response = asyncio.run(runtime.predict(InferenceRequest.model_validate_json(body)))
    assert [output.name for output in response.outputs] == ["predict"]
    predictions = decode_response(signature, mlserver_rest_body(response), {"content-type": "application/json"})
    # MLServer's NumpyCodec gives a 1-D result a trailing dimension of 1: (4,) travels as [4, 1].
    assert_same(predictions, classifier.predict(features).reshape(-1, 1))


def test_mlserver_serves_tempo_response_dicts_that_decode_unchanged() -> None:
    types = pytest.importorskip("mlserver.types")
    returned = (np.array([np.nan, np.inf, 2.5], dtype=np.float16), *list(SCORER_ARGUMENTS.values())[1:])
    response = types.InferenceResponse.model_validate(encode_response_dict(SCORER, "scorer", returned))
    assert_same(decode_response(SCORER, mlserver_rest_body(response), {}), returned)


def test_a_request_mlserver_has_parsed_decodes_like_its_body() -> None:
    types = pytest.importorskip("mlserver.types")
    body, _ = encode_request(SCORER, SCORER_ARGUMENTS)
    parsed = types.InferenceRequest.model_validate_json(body).model_dump(exclude_none=True)
    decoded = decode_request_dict(SCORER, parsed)
    for name, value in SCORER_ARGUMENTS.items():
        assert_same(decoded[name], value)


def test_tritonclient_reads_tempo_binary_responses() -> None:
    httpclient = pytest.importorskip("tritonclient.http")
    signature = Signature(
        inputs=(), outputs=(TensorSpec(name="scores"), TensorSpec(name="labels")), multiple_outputs=True
    )
    scores = np.arange(6, dtype=np.float32).reshape(2, 3)
    labels = np.array(["cat", "chèvre"])
    body, headers = encode_response(signature, "model", (scores, labels), binary=True)
    result = httpclient.InferResult.from_response_body(body, header_length=int(headers[HEADER_LENGTH]))
    assert_same(result.as_numpy("scores"), scores)
    assert result.as_numpy("labels").tolist() == [b"cat", "chèvre".encode()]


def test_tempo_reads_tritonclient_binary_requests() -> None:
    httpclient = pytest.importorskip("tritonclient.http")
    scores = np.arange(6, dtype=np.int64).reshape(2, 3)
    blobs = np.array([b"\xff\x00", b"", b"abc"], dtype=object)
    inputs = [httpclient.InferInput("scores", [2, 3], "INT64"), httpclient.InferInput("blobs", [3], "BYTES")]
    inputs[0].set_data_from_numpy(scores, binary_data=True)
    inputs[1].set_data_from_numpy(blobs, binary_data=True)
    body, header_length = httpclient.InferenceServerClient.generate_request_body(inputs)
    signature = Signature(
        inputs=(TensorSpec(name="scores"), TensorSpec(name="blobs")), outputs=(TensorSpec(name="out"),)
    )
    decoded = decode_request(signature, body, {HEADER_LENGTH: str(header_length)})
    assert_same(decoded["scores"], scores)
    assert_same(decoded["blobs"], blobs)


# ---------------------------------------------------------------- gRPC, as MLServer's converter hands requests over


@pytest.mark.parametrize("sizes", [False, True], ids=["raw", "raw-with-binary_data_size"])
def test_tempo_decodes_grpc_raw_contents_as_mlserver_unpacks_them(sizes: bool) -> None:
    """MLServer unpacks raw contents into `data` (BYTES as bytes) and keeps each `binary_data_size` a client sent."""
    from mlserver.grpc import dataplane_pb2 as pb
    from mlserver.grpc.converters import ModelInferRequestConverter

    tensors = encode_raw_inputs(SCORER, SCORER_ARGUMENTS)
    inputs = []
    for header, raw in tensors:
        parameters = {key: pb.InferParameter(string_param=value) for key, value in header["parameters"].items()}
        if sizes:  # as KServe's InferenceGRPCClient sends them
            parameters["binary_data_size"] = pb.InferParameter(int64_param=len(raw))
        inputs.append(
            pb.ModelInferRequest.InferInputTensor(
                name=header["name"], datatype=header["datatype"], shape=header["shape"], parameters=parameters
            )
        )
    request = pb.ModelInferRequest(model_name="scorer", inputs=inputs, raw_input_contents=[raw for _, raw in tensors])

    decoded = decode_request_dict(SCORER, ModelInferRequestConverter.to_types(request).model_dump(exclude_none=True))

    for name, value in SCORER_ARGUMENTS.items():
        assert_same(decoded[name], value)


def test_tempo_decodes_typed_grpc_bytes_contents() -> None:
    from mlserver.grpc import dataplane_pb2 as pb
    from mlserver.grpc.converters import ModelInferRequestConverter

    def bytes_input(name: str, elements: list[bytes], content_type: str | None = None) -> Any:
        parameters = {} if content_type is None else {"content_type": pb.InferParameter(string_param=content_type)}
        contents = pb.InferTensorContents(bytes_contents=elements)
        return pb.ModelInferRequest.InferInputTensor(
            name=name, datatype="BYTES", shape=[len(elements)], parameters=parameters, contents=contents
        )

    signature = Signature(
        inputs=(
            TensorSpec(name="label", kind=ValueKind.str),
            TensorSpec(name="raw", kind=ValueKind.bytes),
            TensorSpec(name="meta", kind=ValueKind.json),
            TensorSpec(name="words"),
        ),
        outputs=(TensorSpec(name="output0"),),
    )
    request = pb.ModelInferRequest(
        model_name="typed",
        inputs=[
            bytes_input("label", ["héllo".encode()], "str"),
            bytes_input("raw", [b"\xff\x00"]),  # raw bytes as they are: gRPC needs no base64
            bytes_input("meta", [b'{"a": [1]}']),
            bytes_input("words", [b"a", b"\xff"]),
        ],
    )

    decoded = decode_request_dict(signature, ModelInferRequestConverter.to_types(request).model_dump(exclude_none=True))

    assert decoded["label"] == "héllo"
    assert decoded["raw"] == b"\xff\x00"
    assert decoded["meta"] == {"a": [1]}
    assert_same(decoded["words"], np.array([b"a", b"\xff"], dtype=object))
