"""The V2 REST protocol as a client that is not tempo meets it: error shapes, requested outputs, metadata from which a
request can be built, the binary tensor data extension, and RemoteModel's client options.

Every server is a real MLServer process that deploy_local starts through tempo's launcher; nothing is mocked.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar, Tuple
from urllib.parse import urlsplit

import numpy as np
import pytest
import requests
from tests_support import saved_folder

from tempo_core import (
    ClientOptions,
    LocalOptions,
    Model,
    ModelFramework,
    TensorSpec,
    attach,
    deploy_local,
    model,
    save,
)
from tempo_core.errors import RemoteError
from tempo_core.remote import RemoteModel
from tempo_kfserving import codec

pytestmark = pytest.mark.server

VERSICOLOR = np.array([[5.9, 2.8, 4.1, 1.3]])


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory, iris_artifacts: str) -> Iterator[dict[str, RemoteModel]]:
    """A model with two outputs, a slow one, and the iris sklearn artifact, each on its own local server."""
    root = tmp_path_factory.mktemp("rest-conformance")

    @model(name="rest-two-outputs", local_folder=saved_folder(root, "two"))
    def two_outputs(payload: np.ndarray) -> Tuple[np.ndarray, str]:
        return payload * 2, f"{payload.size} values"

    @model(name="rest-slow", local_folder=saved_folder(root, "slow"))
    def slow(seconds: float) -> float:
        time.sleep(seconds)
        return seconds

    @model(
        name="rest-declared",
        local_folder=saved_folder(root, "declared"),
        inputs=[TensorSpec(name="rows", dtype="float32", shape=(-1, 3))],
        outputs=TensorSpec(name="sums", dtype="float64", shape=(-1,)),
    )
    def declared(rows: np.ndarray) -> np.ndarray:
        return rows.sum(axis=1, dtype=np.float64)

    sklearn = Model(name="rest-iris", platform=ModelFramework.SKLearn, local_folder=f"{iris_artifacts}/sklearn")
    remotes: dict[str, RemoteModel] = {}
    try:
        for servable in (two_outputs, slow, declared):
            save(servable)
        for servable in (two_outputs, slow, declared, sklearn):
            remotes[servable.name] = deploy_local(servable)
        yield remotes
    finally:
        for remote in remotes.values():
            remote.undeploy()


def _infer_url(remote: RemoteModel) -> str:
    return f"{remote.endpoint}/v2/models/{remote.name}/infer"


GOOD = {"inputs": [{"name": "payload", "datatype": "FP32", "shape": [2], "data": [1.0, 2.5]}]}


@pytest.mark.parametrize(
    ("body", "content_type", "named"),
    [
        (
            b'{"inputs": [{"name": "payload", "datatype": "FP33", "shape": [1], "data": [1]}]}',
            "application/json",
            "inputs[0].datatype",
        ),
        (b'{"inputs": [{"name": "payload", "shape": [1], "data": [1]}]}', "application/json", "inputs[0].datatype"),
        (b'{"inputs": [{"name": "payload", "datatype": "FP32", "data": [1]}]}', "application/json", "inputs[0].shape"),
        (b"this is not JSON", "application/json", "not JSON"),
        (
            b'{"inputs": [{"name": "payload", "datatype": "FP32", "shape": [3], "data": [1]}]}',
            "application/json",
            "input 'payload'",
        ),
        (b'{"inputs": [{"name": "other", "datatype": "FP32", "shape": [1], "data": [1]}]}', "text/plain", "'other'"),
    ],
    ids=["unknown-datatype", "missing-datatype", "missing-shape", "not-json", "short-data", "unknown-input"],
)
def test_a_malformed_request_gets_400_with_an_error_naming_the_field(
    deployed: dict[str, RemoteModel], body: bytes, content_type: str, named: str
) -> None:
    response = requests.post(
        _infer_url(deployed["rest-two-outputs"]), data=body, headers={"Content-Type": content_type}
    )

    assert response.status_code == 400
    assert set(response.json()) == {"error"}
    assert named in response.json()["error"]


def test_a_json_body_is_read_whatever_its_content_type(deployed: dict[str, RemoteModel]) -> None:
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/octet-stream"):
        response = requests.post(
            _infer_url(deployed["rest-two-outputs"]), data=json.dumps(GOOD), headers={"Content-Type": content_type}
        )
        assert response.status_code == 200, (content_type, response.text)
        assert response.json()["outputs"][0]["data"] == [2.0, 5.0]


def test_the_connection_stays_usable_after_a_bad_request(deployed: dict[str, RemoteModel]) -> None:
    address = urlsplit(deployed["rest-two-outputs"].endpoint)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    path = "/v2/models/rest-two-outputs/infer"
    bad_binary = (
        b'{"inputs": [{"name": "payload", "datatype": "FP32", "shape": [2], "parameters": {"binary_data_size": 8}}]}'
    )
    try:
        for body, headers in (
            (b"nope", {"Content-Type": "application/json"}),
            (bad_binary, {"Content-Type": "application/octet-stream", codec.HEADER_LENGTH: str(len(bad_binary))}),
            (bad_binary + b"\x00" * 4, {"Content-Type": "application/octet-stream", codec.HEADER_LENGTH: "999"}),
        ):
            connection.request("POST", path, body=body, headers=headers)
            answer = connection.getresponse()
            assert answer.status == 400
            assert "error" in json.loads(answer.read())
        connection.request("POST", path, body=json.dumps(GOOD), headers={"Content-Type": "application/json"})
        answer = connection.getresponse()
        assert answer.status == 200
        assert json.loads(answer.read())["outputs"][0]["data"] == [2.0, 5.0]
    finally:
        connection.close()


def test_requested_outputs_are_the_only_ones_answered(deployed: dict[str, RemoteModel]) -> None:
    url = _infer_url(deployed["rest-two-outputs"])

    answer = requests.post(url, json={**GOOD, "id": "req-7", "outputs": [{"name": "output1"}]})
    unknown = requests.post(url, json={**GOOD, "outputs": [{"name": "output9"}]})

    assert answer.status_code == 200
    assert answer.json()["id"] == "req-7"
    assert [(output["name"], output["data"]) for output in answer.json()["outputs"]] == [("output1", ["2 values"])]
    assert unknown.status_code == 400
    assert "output9" in unknown.json()["error"] and "output0" in unknown.json()["error"]


def test_sklearn_metadata_describes_what_the_model_takes_and_answers(deployed: dict[str, RemoteModel]) -> None:
    metadata = deployed["rest-iris"].metadata()

    assert metadata["inputs"] == [{"name": "input", "datatype": "FP64", "shape": [-1, 4]}]
    assert [(output["name"], output["datatype"], output["shape"]) for output in metadata["outputs"]] == [
        ("predict", "INT64", [-1, 1]),
        ("predict_proba", "FP64", [-1, 3]),
    ]


def test_a_custom_model_advertises_the_dtypes_and_shapes_its_signature_declares(
    deployed: dict[str, RemoteModel],
) -> None:
    metadata = deployed["rest-declared"].metadata()

    assert [(t["name"], t["datatype"], t["shape"]) for t in metadata["inputs"]] == [("rows", "FP32", [-1, 3])]
    assert [(t["name"], t["datatype"], t["shape"]) for t in metadata["outputs"]] == [("sums", "FP64", [-1])]


@pytest.mark.parametrize("name", ["rest-iris", "rest-declared"])
def test_a_request_built_from_the_metadata_is_answered_as_the_metadata_says(
    deployed: dict[str, RemoteModel], name: str
) -> None:
    remote = deployed[name]
    metadata = remote.metadata()
    inputs = []
    for tensor in metadata["inputs"]:
        shape = [2 if size == -1 else size for size in tensor["shape"]]
        inputs.append(
            {
                "name": tensor["name"],
                "datatype": tensor["datatype"],
                "shape": shape,
                "data": [5.0] * int(np.prod(shape)),
            }
        )
    wanted = [{"name": output["name"]} for output in metadata["outputs"]]

    answer = requests.post(_infer_url(remote), json={"inputs": inputs, "outputs": wanted})

    assert answer.status_code == 200
    described = {output["name"]: output for output in metadata["outputs"]}
    for output in answer.json()["outputs"]:
        assert output["datatype"] == described[output["name"]]["datatype"]
        assert output["shape"][1:] == described[output["name"]]["shape"][1:]


@pytest.mark.parametrize(
    "tensor",
    [
        {"name": "input", "datatype": "FP64", "shape": [0], "data": []},
        {"name": "input", "datatype": "FP64", "shape": [], "data": [1.0]},
        {"name": "input", "datatype": "FP64", "shape": [4], "data": [1.0, 2.0, 3.0, 4.0]},
        {"name": "input", "datatype": "FP64", "shape": [1, 3], "data": [1.0, 2.0, 3.0]},
    ],
    ids=["empty", "zero-dimensional", "flat", "three-features"],
)
def test_a_schema_valid_request_the_sklearn_model_cannot_run_on_is_a_400(
    deployed: dict[str, RemoteModel], tensor: dict[str, Any]
) -> None:
    answer = requests.post(_infer_url(deployed["rest-iris"]), json={"inputs": [tensor]})

    assert answer.status_code == 400
    assert "rest-iris" in answer.json()["error"]


def test_large_arrays_travel_as_binary_tensors_and_come_back_the_same(deployed: dict[str, RemoteModel]) -> None:
    remote = deployed["rest-two-outputs"]
    payload = np.random.default_rng(7).random((1000, 4), dtype=np.float32)

    binary = remote.predict(payload)
    as_json = remote.with_options(binary=False).predict(payload)

    for answer in (binary, as_json):
        np.testing.assert_array_equal(answer[0], payload * 2)
        assert answer[0].dtype == np.float32
        assert answer[1] == "4000 values"
    assert requests.get(f"{remote.endpoint}/v2").json()["extensions"] == [codec.BINARY_EXTENSION]


def test_a_hand_made_binary_request_gets_binary_outputs_when_it_asks(deployed: dict[str, RemoteModel]) -> None:
    payload = np.arange(6, dtype=np.int32).reshape(2, 3)
    header = json.dumps(
        {
            "inputs": [
                {
                    "name": "payload",
                    "datatype": "INT32",
                    "shape": [2, 3],
                    "parameters": {"binary_data_size": payload.nbytes},
                }
            ],
            "outputs": [{"name": "output0", "parameters": {"binary_data": True}}],
        }
    ).encode()

    answer = requests.post(
        _infer_url(deployed["rest-two-outputs"]),
        data=header + payload.tobytes(),
        headers={"Content-Type": "application/octet-stream", codec.HEADER_LENGTH: str(len(header))},
    )

    assert answer.status_code == 200
    length = int(answer.headers[codec.HEADER_LENGTH])
    document = json.loads(answer.content[:length])
    assert [output["name"] for output in document["outputs"]] == ["output0"]
    assert document["outputs"][0]["parameters"]["binary_data_size"] == payload.nbytes
    np.testing.assert_array_equal(np.frombuffer(answer.content[length:], "<i4").reshape(2, 3), payload * 2)


def test_a_binary_request_to_a_prepackaged_model_is_answered(deployed: dict[str, RemoteModel]) -> None:
    remote = deployed["rest-iris"]

    binary = remote.with_options(binary=True).predict(np.repeat(VERSICOLOR, 40, axis=0))

    assert binary.shape == (40, 1)
    assert set(binary.ravel()) == {1}


def test_a_call_past_its_timeout_fails_naming_the_model_and_the_server_keeps_serving(
    deployed: dict[str, RemoteModel],
) -> None:
    remote = deployed["rest-slow"]

    with pytest.raises(RemoteError, match="rest-slow"):
        remote.with_options(timeout=0.3).predict(2.0)
    assert remote.predict(0.0) == 0.0


def test_remote_model_reports_its_grpc_endpoint_and_tempo_list_shows_it(deployed: dict[str, RemoteModel]) -> None:
    remote = deployed["rest-iris"]

    assert remote.grpc_endpoint is not None
    host, _, port = remote.grpc_endpoint.rpartition(":")
    assert host == "127.0.0.1" and port.isdigit()
    listed = {entry.name: entry for entry in remote.runtime.list()} if remote.runtime else {}
    assert listed["rest-iris"].grpc_endpoint == remote.grpc_endpoint


def test_attach_calls_a_model_deployed_elsewhere_without_deploying_it(tmp_path: Path) -> None:
    @model(name="rest-attached", local_folder=saved_folder(tmp_path, "attached"))
    def add_one(payload: np.ndarray) -> np.ndarray:
        return payload + 1

    served = deploy_local(add_one, LocalOptions(detach=True))
    try:
        with attach(add_one, served.endpoint, grpc_endpoint=served.grpc_endpoint) as attached:
            np.testing.assert_array_equal(attached.predict(np.ones(3)), np.full(3, 2.0))
            assert attached.metadata()["name"] == "rest-attached"
            with pytest.raises(Exception, match="attached"):
                attached.undeploy()
        assert requests.get(f"{served.endpoint}/v2/models/rest-attached/ready").status_code == 200
    finally:
        served.undeploy()


class _RecordingHandler(BaseHTTPRequestHandler):
    """A V2 server stand-in that records each request's headers and answers one FP64 output."""

    seen: ClassVar[list[dict[str, str]]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).seen.append(dict(self.headers))
        body = json.dumps(
            {
                "model_name": "rest-headers",
                "outputs": [{"name": "output0", "datatype": "FP64", "shape": [1], "data": [1.0]}],
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        return


def test_client_headers_reach_the_server_on_every_call() -> None:
    @model(name="rest-headers")
    def identity(payload: np.ndarray) -> np.ndarray:
        return payload

    server = ThreadingHTTPServer(("127.0.0.1", 0), _RecordingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    options = ClientOptions(headers={"Host": "rest-headers.production.example.com", "Authorization": "Bearer t0k"})
    try:
        with attach(identity, f"http://127.0.0.1:{server.server_port}", options=options) as remote:
            remote.predict(np.ones(1))
            remote.predict(np.ones(1))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    assert [(seen["Host"], seen["Authorization"]) for seen in _RecordingHandler.seen] == [
        ("rest-headers.production.example.com", "Bearer t0k")
    ] * 2
