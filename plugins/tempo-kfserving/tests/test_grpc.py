"""Calling deployed models over V2 gRPC: tempo's GrpcClient returns what the in-process call returns, and the
server answers bad requests with the status codes of the Open Inference Protocol.

Every server is a real MLServer process started by deploy_local; nothing is mocked.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Optional, Tuple

import grpc
import numpy as np
import pytest
import requests
from mlserver.grpc import dataplane_pb2 as pb
from mlserver.grpc.dataplane_pb2_grpc import (
    GRPCInferenceServiceServicer,
    GRPCInferenceServiceStub,
    add_GRPCInferenceServiceServicer_to_server,
)
from tests_support import saved_folder

from tempo_core import deploy_local, model, save
from tempo_core.errors import RemoteError
from tempo_core.processes import free_port
from tempo_core.remote import RemoteModel
from tempo_core.testing import assert_same_result
from tempo_kfserving.grpc_client import GrpcClient

pytestmark = pytest.mark.server

TIMEOUT = 20.0
VERSICOLOR = np.array([[5.9, 2.8, 4.1, 1.3]])


def build_models(root: Path) -> dict[str, Any]:
    """An echo of one array, a model of every value kind with a tuple of outputs, and a slow one."""

    @model(name="grpc-echo", local_folder=saved_folder(root, "echo"))
    def echo(payload: np.ndarray) -> np.ndarray:
        return payload

    @model(name="grpc-kinds", local_folder=saved_folder(root, "kinds"))
    def kinds(
        values: np.ndarray,
        text: str,
        blob: bytes,
        document: dict,
        count: int,
        ratio: float,
        flag: bool,
        note: Optional[str],
    ) -> Tuple[np.ndarray, str, bytes, dict, int, float, bool, Optional[str]]:
        return values * 2, text.upper(), blob[::-1], {"got": document}, count + 1, ratio / 4, not flag, note

    @model(name="grpc-slow", local_folder=saved_folder(root, "slow"))
    def slow(seconds: float) -> float:
        time.sleep(seconds)
        return seconds

    return {"echo": echo, "kinds": kinds, "slow": slow}


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The models above, saved."""
    built = build_models(tmp_path_factory.mktemp("grpc-models"))
    for servable in built.values():
        save(servable)
    return built


@pytest.fixture(scope="module")
def deployed(models: dict[str, Any]) -> Iterator[dict[str, RemoteModel]]:
    """The models served locally, each in its own MLServer process; undeployed at the end, whatever happened."""
    remotes: dict[str, RemoteModel] = {}
    try:
        for key, servable in models.items():
            remotes[key] = deploy_local(servable)
        yield remotes
    finally:
        for remote in remotes.values():
            remote.undeploy()


@pytest.fixture(scope="module")
def clients(deployed: dict[str, RemoteModel]) -> Iterator[dict[str, GrpcClient]]:
    """A GrpcClient per deployed model, at the gRPC endpoint its runtime reports."""
    opened = {key: GrpcClient(remote.model, _address(remote), timeout=TIMEOUT) for key, remote in deployed.items()}
    yield opened
    for client in opened.values():
        client.close()


def _address(remote: RemoteModel) -> str:
    address = remote.grpc_endpoint
    assert address is not None, f"the local runtime reports no gRPC endpoint for {remote.name}"
    return address


def _stub(remote: RemoteModel) -> Iterator[GRPCInferenceServiceStub]:
    with grpc.insecure_channel(_address(remote)) as channel:
        yield GRPCInferenceServiceStub(channel)


@pytest.fixture
def stub(deployed: dict[str, RemoteModel]) -> Iterator[GRPCInferenceServiceStub]:
    """A bare stub of MLServer's generated gRPC code, for requests no tempo client would send."""
    yield from _stub(deployed["echo"])


# ---------------------------------------------------------------- round trips

ARRAYS = {
    "float32 2x3": np.arange(6, dtype=np.float32).reshape(2, 3),
    "float64 non-finite": np.array([np.nan, np.inf, -np.inf, -0.0, 1e-300]),
    "float16": np.array([[0.5, np.nan], [65504.0, -2.0]], dtype=np.float16),
    "int8": np.array([-128, 0, 127], dtype=np.int8),
    "int64 extremes": np.array([-(2**63), 2**63 - 1], dtype=np.int64),
    "uint8 3-d": np.arange(24, dtype=np.uint8).reshape(2, 3, 4),
    "uint16": np.array([0, 65535], dtype=np.uint16),
    "uint64 max": np.array([0, 2**64 - 1], dtype=np.uint64),
    "bool": np.array([[True, False], [False, True]]),
    "empty": np.zeros((0, 3), dtype=np.float32),
    "0-d": np.array(7.5),
    "str": np.array([["a", "bé"], ["", "日本"]]),
    "bytes": np.array([b"\x00\xff", b"z"]),  # numpy drops trailing NULs of S elements, so none here
    "object of str": np.array(["x", "longer text"], dtype=object),
    "object of bytes": np.array([b"\x00", b"\x01\x02"], dtype=object),
}


@pytest.mark.parametrize("array", ARRAYS.values(), ids=ARRAYS.keys())
def test_an_array_comes_back_with_its_dtype_shape_and_values(
    models: dict[str, Any], clients: dict[str, GrpcClient], array: Any
) -> None:
    assert_same_result(clients["echo"]({"payload": array}), models["echo"](array))


KINDS_ARGUMENTS: dict[str, Any] = {
    "values": np.array([[1.5, -2.0]], dtype=np.float32),
    "text": "héllo",
    "blob": b"\xff\x00raw",
    "document": {"nested": [1, 2.5, None, "x"], "flag": True},
    "count": 2**40,
    "ratio": 0.1,
    "flag": True,
    "note": "kept",
}


@pytest.mark.parametrize("note", ["kept", None], ids=["optional-given", "optional-none"])
def test_every_value_kind_and_a_tuple_of_outputs_match_the_in_process_call(
    models: dict[str, Any], clients: dict[str, GrpcClient], note: str | None
) -> None:
    arguments = {**KINDS_ARGUMENTS, "note": note}

    result = clients["kinds"](arguments)

    assert_same_result(result, models["kinds"](**arguments))


def test_remote_model_calls_over_grpc_when_its_client_options_say_so(
    models: dict[str, Any], deployed: dict[str, RemoteModel]
) -> None:
    remote = deployed["kinds"].with_options(transport="grpc")

    assert_same_result(remote.predict(**KINDS_ARGUMENTS), models["kinds"](**KINDS_ARGUMENTS))


def test_a_standard_sklearn_artifact_answers_over_grpc_as_in_process(iris_artifacts: str) -> None:
    from models import get_tempo_artifacts

    _, sklearn_model, _ = get_tempo_artifacts(iris_artifacts)
    expected = sklearn_model(input=VERSICOLOR)
    with deploy_local(sklearn_model) as remote:
        client = GrpcClient(sklearn_model, _address(remote), timeout=TIMEOUT)
        try:
            result = client({"input": VERSICOLOR})
        finally:
            client.close()

    assert_same_result(result, expected)


def test_metadata_over_grpc_is_what_rest_says(clients: dict[str, GrpcClient], deployed: dict[str, RemoteModel]) -> None:
    over_rest = requests.get(f"{deployed['kinds'].endpoint}/v2/models/grpc-kinds", timeout=TIMEOUT).json()

    metadata = clients["kinds"].metadata()

    assert metadata == over_rest
    assert [each["name"] for each in metadata["inputs"]] == list(KINDS_ARGUMENTS)
    assert metadata["inputs"][1] == {
        "name": "text",
        "datatype": "BYTES",
        "shape": [1],
        "parameters": {"content_type": "str"},
    }


def test_str_and_json_outputs_still_travel_as_text_over_rest(deployed: dict[str, RemoteModel]) -> None:
    request = {
        "inputs": [
            {"name": "values", "datatype": "FP32", "shape": [1], "data": [1.0]},
            {"name": "text", "datatype": "BYTES", "shape": [1], "data": ["ok"]},
            {
                "name": "blob",
                "datatype": "BYTES",
                "shape": [1],
                "data": ["YQ=="],
                "parameters": {"content_type": "base64"},
            },
            {"name": "document", "datatype": "BYTES", "shape": [1], "data": ['{"a": 1}']},
            {"name": "count", "datatype": "INT64", "shape": [1], "data": [1]},
            {"name": "ratio", "datatype": "FP64", "shape": [1], "data": [1.0]},
            {"name": "flag", "datatype": "BOOL", "shape": [1], "data": [False]},
        ]
    }
    url = f"{deployed['kinds'].endpoint}/v2/models/grpc-kinds/infer"

    outputs = requests.post(url, json=request, timeout=TIMEOUT).json()["outputs"]

    assert [output["data"] for output in outputs[1:4]] == [["OK"], ["YQ=="], ['{"got":{"a":1}}']]


# ---------------------------------------------------------------- status codes


def _code(call: Any) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value.code()  # type: ignore[no-any-return]  # every RpcError from a call is a grpc.Call


def test_an_unknown_model_is_not_found_for_ready_metadata_and_infer(stub: GRPCInferenceServiceStub) -> None:
    infer = pb.ModelInferRequest(
        model_name="missing", inputs=[_fp64_input("payload", [1])], raw_input_contents=[b"\0" * 8]
    )

    codes = {
        "ModelReady": _code(lambda: stub.ModelReady(pb.ModelReadyRequest(name="missing"), timeout=TIMEOUT)),
        "ModelMetadata": _code(lambda: stub.ModelMetadata(pb.ModelMetadataRequest(name="missing"), timeout=TIMEOUT)),
        "ModelInfer": _code(lambda: stub.ModelInfer(infer, timeout=TIMEOUT)),
    }

    assert codes == dict.fromkeys(codes, grpc.StatusCode.NOT_FOUND)


def _fp64_input(name: str, shape: list[int], **contents: Any) -> pb.ModelInferRequest.InferInputTensor:
    tensor = pb.ModelInferRequest.InferInputTensor(name=name, datatype="FP64", shape=shape)
    if contents:
        tensor.contents.CopyFrom(pb.InferTensorContents(**contents))
    return tensor


MALFORMED = {
    "raw contents of the wrong size": pb.ModelInferRequest(
        model_name="grpc-echo", inputs=[_fp64_input("payload", [3])], raw_input_contents=[b"\0" * 20]
    ),
    "an unknown datatype": pb.ModelInferRequest(
        model_name="grpc-echo",
        inputs=[pb.ModelInferRequest.InferInputTensor(name="payload", datatype="FP99", shape=[1])],
        raw_input_contents=[b"\0" * 8],
    ),
    "a truncated BYTES element": pb.ModelInferRequest(
        model_name="grpc-echo",
        inputs=[pb.ModelInferRequest.InferInputTensor(name="payload", datatype="BYTES", shape=[1])],
        raw_input_contents=[b"\x09\0\0\0abc"],
    ),
    "more raw entries than inputs": pb.ModelInferRequest(
        model_name="grpc-echo", inputs=[_fp64_input("payload", [1])], raw_input_contents=[b"\0" * 8, b"\0" * 8]
    ),
    "typed contents of the wrong length": pb.ModelInferRequest(
        model_name="grpc-echo", inputs=[_fp64_input("payload", [3], fp64_contents=[1.0])]
    ),
    "typed contents in another datatype's field": pb.ModelInferRequest(
        model_name="grpc-echo", inputs=[_fp64_input("payload", [1], int64_contents=[1])]
    ),
    "an input the model does not take (tempo's 400)": pb.ModelInferRequest(
        model_name="grpc-echo", inputs=[_fp64_input("other", [1])], raw_input_contents=[b"\0" * 8]
    ),
}


@pytest.mark.parametrize("request_", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_request_is_invalid_argument(
    stub: GRPCInferenceServiceStub, request_: pb.ModelInferRequest
) -> None:
    assert _code(lambda: stub.ModelInfer(request_, timeout=TIMEOUT)) == grpc.StatusCode.INVALID_ARGUMENT


def test_the_server_still_answers_after_malformed_requests(clients: dict[str, GrpcClient]) -> None:
    assert_same_result(clients["echo"]({"payload": np.ones(2)}), np.ones(2))


def test_grpc_client_errors_carry_the_status_code(deployed: dict[str, RemoteModel]) -> None:
    @model(name="grpc-echo")
    def impostor(other: np.ndarray) -> np.ndarray:  # the deployed grpc-echo takes `payload`, not `other`
        return other

    @model(name="grpc-never-deployed")
    def absent(payload: np.ndarray) -> np.ndarray:
        return payload

    address = _address(deployed["echo"])
    wrong, missing = GrpcClient(impostor, address, timeout=TIMEOUT), GrpcClient(absent, address, timeout=TIMEOUT)
    try:
        with pytest.raises(RemoteError, match="INVALID_ARGUMENT") as bad_request:
            wrong({"other": np.ones(1)})
        with pytest.raises(RemoteError, match="NOT_FOUND") as not_found:
            missing.metadata()
    finally:
        wrong.close()
        missing.close()

    assert (bad_request.value.status_code, not_found.value.status_code) == (400, 404)
    assert "unexpected input(s) 'other'" in str(bad_request.value)


def test_a_call_past_its_deadline_names_the_timeout(clients: dict[str, GrpcClient]) -> None:
    with pytest.raises(RemoteError, match=r"within the timeout of 0\.3 s") as caught:
        clients["slow"]({"seconds": 2.0}, timeout=0.3)

    assert caught.value.status_code == 504
    assert clients["slow"]({"seconds": 0.0}) == 0.0


def test_a_server_that_is_not_there_names_the_address(models: dict[str, Any]) -> None:
    address = f"127.0.0.1:{free_port('127.0.0.1')}"
    client = GrpcClient(models["echo"], address, timeout=5.0)
    try:
        with pytest.raises(RemoteError, match=f"could not be reached over gRPC at {address}") as caught:
            client({"payload": np.ones(1)})
    finally:
        client.close()

    assert caught.value.status_code == 503


class _MetadataEcho(GRPCInferenceServiceServicer):
    """Answers ModelMetadata with the call's gRPC metadata as the response's parameters."""

    def ModelMetadata(
        self, request: pb.ModelMetadataRequest, context: grpc.ServicerContext
    ) -> pb.ModelMetadataResponse:
        received = {item.key: pb.InferParameter(string_param=item.value) for item in context.invocation_metadata()}
        return pb.ModelMetadataResponse(name=request.name, parameters=received)


@pytest.fixture
def metadata_echo() -> Iterator[str]:
    """A real gRPC server on loopback that shows what metadata a call carried; its address."""
    server = grpc.server(ThreadPoolExecutor(max_workers=1))
    add_GRPCInferenceServiceServicer_to_server(_MetadataEcho(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop(grace=None)


def test_headers_go_as_lower_case_grpc_metadata(models: dict[str, Any], metadata_echo: str) -> None:
    client = GrpcClient(models["echo"], metadata_echo, timeout=TIMEOUT, headers={"X-Tempo-Check": "yes"})
    try:
        parameters = client.metadata()["parameters"]
    finally:
        client.close()

    assert parameters["x-tempo-check"] == "yes"
