"""The Seldon protocol: every kind of value survives a request and a response, and bad messages name the culprit."""

from __future__ import annotations

import json
from typing import Any, Optional, Tuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tempo_core.errors import ArgumentError, DeployError, PredictionError, RemoteError
from tempo_core.model import Model
from tempo_core.signature import Signature, TensorSpec, ValueKind, signature_from_function
from tempo_seldon import SeldonProtocol

PROTOCOL = SeldonProtocol()
ARRAY = Signature(inputs=(TensorSpec(name="payload"),), outputs=(TensorSpec(name="output0"),))
NUMERIC_DTYPES = [
    np.dtype(name)
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
]
SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=10,
)


def arrays() -> st.SearchStrategy[np.ndarray]:
    numeric = st.sampled_from(NUMERIC_DTYPES).flatmap(lambda dtype: hnp.arrays(dtype, SHAPES))
    text = hnp.arrays(hnp.unicode_string_dtypes(max_len=4), SHAPES)
    raw = hnp.arrays(hnp.byte_string_dtypes(max_len=4), SHAPES)
    return numeric | text | raw


def signature_of(function: Any) -> Signature:
    return signature_from_function(function, model_name="test")


def request_round_trip(signature: Signature, arguments: dict[str, Any]) -> dict[str, Any]:
    request = PROTOCOL.encode_request(signature, arguments)
    return PROTOCOL.decode_request(signature, request.body, request.headers)


def response_round_trip(signature: Signature, value: Any) -> Any:
    response = PROTOCOL.encode_response(signature, "test", value)
    return PROTOCOL.decode_response(signature, response.body, response.headers)


def assert_same_array(got: np.ndarray, sent: np.ndarray) -> None:
    assert isinstance(got, np.ndarray)
    assert got.shape == sent.shape
    if sent.dtype.kind in "US":
        assert got.dtype.kind == sent.dtype.kind
    else:
        assert got.dtype == sent.dtype
    np.testing.assert_array_equal(got, sent)


@settings(max_examples=150, deadline=None)
@given(arrays())
def test_an_array_keeps_its_values_dtype_and_shape_both_ways(array: np.ndarray) -> None:
    assert_same_array(request_round_trip(ARRAY, {"payload": array})["payload"], array)
    assert_same_array(response_round_trip(ARRAY, array), array)


@settings(deadline=None)
@given(st.text(), st.binary(), st.dictionaries(st.text(max_size=5), JSON_VALUES, max_size=4))
def test_str_bytes_and_dict_travel_as_str_bin_and_json_data(text: str, blob: bytes, document: dict) -> None:
    def as_text(value: str) -> str:
        return value

    def as_bytes(value: bytes) -> bytes:
        return value

    def as_dict(value: dict) -> dict:
        return value

    assert request_round_trip(signature_of(as_text), {"value": text}) == {"value": text}
    assert request_round_trip(signature_of(as_bytes), {"value": blob}) == {"value": blob}
    assert request_round_trip(signature_of(as_dict), {"value": document}) == {"value": document}
    assert json.loads(PROTOCOL.encode_request(signature_of(as_text), {"value": text}).body) == {"strData": text}
    assert "binData" in json.loads(PROTOCOL.encode_request(signature_of(as_bytes), {"value": blob}).body)


@settings(max_examples=60, deadline=None)
@given(
    arrays(),
    st.text(),
    st.binary(),
    st.dictionaries(st.text(max_size=5), JSON_VALUES, max_size=3),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(),
    st.booleans(),
)
def test_a_tuple_of_every_kind_comes_back_as_the_same_tuple(
    array: np.ndarray, text: str, blob: bytes, document: dict, number: int, real: float, flag: bool
) -> None:
    def everything(
        x: np.ndarray,
    ) -> Tuple[np.ndarray, str, bytes, dict, int, float, bool]: ...  # only its signature is used

    got = response_round_trip(signature_of(everything), (array, text, blob, document, number, real, flag))

    assert isinstance(got, tuple) and len(got) == 7
    assert_same_array(got[0], array)
    assert got[1:5] == (text, blob, document, number)
    assert got[5] == real or (np.isnan(real) and np.isnan(got[5]))
    assert got[6] is flag


@settings(max_examples=60, deadline=None)
@given(arrays(), st.text(), st.binary(), st.integers(min_value=-(2**63), max_value=2**63 - 1), st.booleans())
def test_several_inputs_travel_as_json_data_by_name(
    array: np.ndarray, label: str, blob: bytes, count: int, flag: bool
) -> None:
    def several(
        values: np.ndarray, label: str, blob: bytes, count: int, flag: bool
    ) -> np.ndarray: ...  # only its signature is used

    signature = signature_of(several)
    arguments = {"values": array, "label": label, "blob": blob, "count": count, "flag": flag}
    got = request_round_trip(signature, arguments)

    assert set(json.loads(PROTOCOL.encode_request(signature, arguments).body)["jsonData"]) == set(arguments)
    assert_same_array(got.pop("values"), array)
    assert got == {"label": label, "blob": blob, "count": count, "flag": flag}


def test_an_optional_none_is_left_out_and_comes_back_as_none() -> None:
    def maybe(
        x: np.ndarray, note: Optional[str] = None
    ) -> Tuple[np.ndarray, Optional[str]]: ...  # only its signature is used

    signature = signature_of(maybe)
    assert request_round_trip(signature, {"x": np.arange(3)}).keys() == {"x"}
    array, note = response_round_trip(signature, (np.arange(3), None))
    assert note is None and array.tolist() == [0, 1, 2]


def test_a_seldon_prepackaged_server_response_is_read_without_tempo_tags() -> None:
    ndarray = b'{"data": {"names": ["t:0", "t:1", "t:2"], "ndarray": [[0.1, 0.8, 0.1]]}, "meta": {}}'
    tensor = b'{"data": {"names": [], "tensor": {"shape": [2, 1], "values": [0, 2]}}, "meta": {}}'

    np.testing.assert_array_equal(PROTOCOL.decode_response(ARRAY, ndarray, {}), [[0.1, 0.8, 0.1]])
    read = PROTOCOL.decode_response(ARRAY, tensor, {})
    assert read.shape == (2, 1) and read.tolist() == [[0.0], [2.0]]


def test_a_standard_model_request_is_the_ndarray_seldon_servers_expect() -> None:
    iris = Model(name="iris", platform="sklearn", uri="s3://m/iris", protocol=PROTOCOL)
    body = json.loads(PROTOCOL.encode_request(iris.signature, {"input": np.array([[5.9, 2.8, 4.1, 1.3]])}).body)

    assert body["data"] == {"ndarray": [[5.9, 2.8, 4.1, 1.3]]}
    assert PROTOCOL.infer_path("iris") == "/api/v1.0/predictions"


def several_signature() -> Signature:
    def several(
        values: np.ndarray, label: str, blob: bytes, count: int
    ) -> np.ndarray: ...  # only its signature is used

    return signature_of(several)


@pytest.mark.parametrize(
    ("signature", "body", "culprit"),
    [
        (ARRAY, {"data": {"ndarray": [[1, 2], [3]]}}, "input 'payload': is not a rectangular array"),
        (ARRAY, {"strData": "five"}, "input 'payload': expects its value in data.ndarray"),
        (ARRAY, {"data": {"names": ["a"]}}, "input 'payload': data has neither ndarray nor tensor"),
        (
            ARRAY,
            {
                "data": {"ndarray": [300]},
                "meta": {"tags": {"tempo.arrays": {"payload": {"dtype": "int8", "shape": [1]}}}},
            },
            "input 'payload': int8 data must be integers from -128 to 127",
        ),
        (
            ARRAY,
            {
                "data": {"ndarray": [1]},
                "meta": {"tags": {"tempo.arrays": {"payload": {"dtype": "complex", "shape": [1]}}}},
            },
            "input 'payload': meta.tags",
        ),
        (
            ARRAY,
            {
                "data": {"ndarray": [1, 2]},
                "meta": {"tags": {"tempo.arrays": {"payload": {"dtype": "int64", "shape": [3]}}}},
            },
            "input 'payload': shape \\[3\\] holds 3 values",
        ),
        (several_signature(), {"jsonData": {"values": [1], "blob": "", "count": 1}}, "input 'label': is missing"),
        (several_signature(), {"jsonData": {"values": [1], "label": 5, "blob": "", "count": 1}}, "input 'label'"),
        (several_signature(), {"jsonData": {"values": [1], "label": "", "blob": "%%", "count": 1}}, "input 'blob'"),
        (several_signature(), {"jsonData": {"values": [1], "label": "", "blob": "", "count": 1.5}}, "input 'count'"),
        (several_signature(), {"jsonData": {"values": [1], "label": "", "blob": "", "count": 1, "x": 2}}, "'x'"),
        (several_signature(), {"data": {"ndarray": [1]}}, "several inputs travel as jsonData"),
        (ARRAY, {"strData": "a", "jsonData": {}}, "exactly one of"),
    ],
    ids=[
        "ragged",
        "wrong-payload",
        "no-array",
        "out-of-range",
        "unknown-dtype",
        "wrong-shape",
        "missing-input",
        "wrong-type",
        "bad-base64",
        "float-for-int",
        "unexpected-input",
        "not-json-data",
        "two-payloads",
    ],
)
def test_a_malformed_request_raises_argument_error_naming_the_input(
    signature: Signature, body: dict, culprit: str
) -> None:
    with pytest.raises(ArgumentError, match=culprit):
        PROTOCOL.decode_request(signature, json.dumps(body).encode(), {})


def test_a_body_that_is_not_a_seldon_message_is_refused() -> None:
    with pytest.raises(ArgumentError, match="request body: is not JSON"):
        PROTOCOL.decode_request(ARRAY, b"\x00not json", {})
    with pytest.raises(ArgumentError, match="request body: must be a JSON object"):
        PROTOCOL.decode_request(ARRAY, b"[1, 2]", {})


def test_a_call_that_does_not_fit_the_signature_is_refused_before_sending() -> None:
    with pytest.raises(ArgumentError, match="input 'payload': expects a numpy array"):
        PROTOCOL.encode_request(ARRAY, {"payload": [1, 2]})
    with pytest.raises(ArgumentError, match="input 'payload': dtype complex128"):
        PROTOCOL.encode_request(ARRAY, {"payload": np.array([1j])})
    with pytest.raises(ArgumentError, match="unexpected argument"):
        PROTOCOL.encode_request(ARRAY, {"payload": np.arange(2), "other": 1})


def test_a_failure_status_raises_remote_error_with_its_code_and_info() -> None:
    failure = {"status": {"code": 400, "info": "Unknown feature 'x'", "reason": "MICROSERVICE_BAD_DATA", "status": 1}}
    failure["status"]["status"] = "FAILURE"

    with pytest.raises(RemoteError, match="Unknown feature 'x'") as raised:
        PROTOCOL.decode_response(ARRAY, json.dumps(failure).encode(), {})
    assert raised.value.status_code == 400
    with pytest.raises(RemoteError, match="boom"):
        PROTOCOL.decode_response(ARRAY, b'{"error": "boom"}', {})


def test_a_response_that_does_not_fit_raises_prediction_error_naming_the_output() -> None:
    def pair(x: np.ndarray) -> Tuple[np.ndarray, str]: ...  # only its signature is used

    with pytest.raises(PredictionError, match="output 'output1': expects a string"):
        PROTOCOL.decode_response(signature_of(pair), b'{"jsonData": {"output0": [1], "output1": 2}}', {})
    with pytest.raises(PredictionError, match="returned int, but its signature declares 2 outputs"):
        PROTOCOL.encode_response(signature_of(pair), "pair", 3)


def test_scalars_travel_as_json_data() -> None:
    for kind, value in [(ValueKind.int, 7), (ValueKind.float, float("-inf")), (ValueKind.bool, False)]:
        signature = Signature(inputs=(TensorSpec(name="x", kind=kind),), outputs=(TensorSpec(name="y", kind=kind),))
        assert request_round_trip(signature, {"x": value}) == {"x": value}
        assert response_round_trip(signature, value) == value


def test_a_pipeline_does_not_share_its_seldon_server_with_its_children(tmp_path: Any) -> None:
    iris = Model(name="iris", platform="sklearn", uri="s3://m/iris", protocol=PROTOCOL)

    with pytest.raises(DeployError, match=r"serves one model.*LocalOptions\(colocate=False\)"):
        PROTOCOL.server_launch(
            iris,
            tmp_path,
            tmp_path,
            0,
            None,
            python="python",
            child_endpoints={},
            colocated=[iris],  # type: ignore[arg-type]
        )
