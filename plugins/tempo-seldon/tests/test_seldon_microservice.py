"""The Seldon protocol served on this machine and in Docker by seldon-core's real Python microservice.

Each model is saved and deployed with `deploy_local` as a user would; the server is `python -m
seldon_core.microservice tempo_seldon.microservice.TempoSeldonModel` (gunicorn and Flask, from the seldon-core
package). Requests are posted with `requests` the way a Seldon user writes them by hand, and through RemoteModel.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Dict, Tuple

import numpy as np
import pytest
import requests

from tempo_core import (
    BatchingOptions,
    LocalOptions,
    Model,
    ModelFramework,
    RequestLogOptions,
    deploy_local,
    model,
    predictmethod,
    save,
)
from tempo_core.errors import DeployError, RemoteError
from tempo_core.model import as_servable
from tempo_core.remote import RemoteModel
from tempo_docker import DockerOptions, build_image
from tempo_seldon import SeldonProtocol
from tempo_test_support.user_models import make_fan_out, ran_together

pytest_plugins = ["tempo_test_support.fixtures"]

PREDICTIONS = "/api/v1.0/predictions"
SERVING_IMAGE = "tempo-seldon:test"
IRIS = np.array([[5.1, 3.5, 1.4, 0.2], [5.9, 2.8, 4.1, 1.3], [6.9, 3.1, 5.4, 2.1]])


def make_models(root: Path) -> Dict[str, Any]:
    """One model per Seldon payload: an array, a str, a dict, several inputs and outputs, a class, a failure."""

    @model(name="doubler", protocol=SeldonProtocol(), local_folder=str(root / "doubler"))
    def doubler(values: np.ndarray) -> np.ndarray:
        return values * 2

    @model(name="shouter", protocol=SeldonProtocol(), local_folder=str(root / "shouter"))
    def shouter(text: str) -> str:
        return text.upper() + "!"

    @model(name="summary", protocol=SeldonProtocol(), local_folder=str(root / "summary"))
    def summary(document: dict) -> dict:
        return {"keys": sorted(document), "size": len(document)}

    @model(name="labeller", protocol=SeldonProtocol(), local_folder=str(root / "labeller"))
    def labeller(values: np.ndarray, label: str) -> Tuple[np.ndarray, str]:
        return values.sum(axis=-1), f"{label}:{values.shape[0]}"

    @model(name="thresholder", protocol=SeldonProtocol(), local_folder=str(root / "thresholder"))
    class Thresholder:
        def __init__(self) -> None:
            self.limit = 10.0

        @predictmethod
        def detect(self, payload: np.ndarray) -> dict:
            return {"outlier": bool(payload.max() > self.limit)}

    @model(name="failing", protocol=SeldonProtocol(), local_folder=str(root / "failing"))
    def failing(values: np.ndarray) -> np.ndarray:
        raise ValueError("this model always fails")

    return {
        "doubler": doubler,
        "shouter": shouter,
        "summary": summary,
        "labeller": labeller,
        "thresholder": as_servable(Thresholder),
        "failing": failing,
    }


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Any]:
    """The models, saved with their environments."""
    built = make_models(tmp_path_factory.mktemp("seldon-models"))
    for servable in built.values():
        save(servable)
    return built


@pytest.fixture(scope="module")
def deployed(models: Dict[str, Any]) -> Iterator[Dict[str, RemoteModel]]:
    """Every model served by its own microservice on this machine; all undeployed afterwards, even on failure."""
    remotes: Dict[str, RemoteModel] = {}
    try:
        for name, servable in models.items():
            remotes[name] = deploy_local(servable)
        yield remotes
    finally:
        for remote in remotes.values():
            remote.undeploy()


def post(remote: RemoteModel, body: Any = None, **kwargs: Any) -> requests.Response:
    """POST a SeldonMessage (or anything else) to the model's predictions endpoint."""
    return requests.post(remote.endpoint + PREDICTIONS, json=body, timeout=30, **kwargs)


# ---------------------------------------------------------------- RemoteModel returns what the call returns


@pytest.mark.parametrize(
    ("name", "arguments"),
    [
        ("doubler", (np.arange(6, dtype=np.float32).reshape(2, 3),)),
        ("doubler", (np.array([[1, -2], [3, 4]], dtype=np.int16),)),
        ("doubler", (np.array([np.nan, np.inf, -1.5]),)),
        ("shouter", ("seldon",)),
        ("summary", ({"b": [1, 2], "a": {"nested": True}},)),
        ("labeller", (np.ones((3, 2), dtype=np.float64), "rows")),
        ("thresholder", (np.array([1.0, 20.0]),)),
    ],
)
def test_remote_predict_returns_what_the_in_process_call_returns(
    deployed: Dict[str, RemoteModel], models: Dict[str, Any], name: str, arguments: Tuple[Any, ...]
) -> None:
    expected = models[name](*arguments)
    got = deployed[name].predict(*arguments)

    assert type(got) is type(expected)
    if isinstance(expected, tuple):
        np.testing.assert_array_equal(got[0], expected[0])
        assert got[0].dtype == expected[0].dtype
        assert got[1] == expected[1]
    elif isinstance(expected, np.ndarray):
        np.testing.assert_array_equal(got, expected)
        assert (got.dtype, got.shape) == (expected.dtype, expected.shape)
    else:
        assert got == expected


def test_the_server_is_seldon_cores_microservice(deployed: Dict[str, RemoteModel]) -> None:
    endpoint = deployed["doubler"].endpoint

    ping = requests.get(endpoint + "/health/ping", timeout=10)
    status = requests.get(endpoint + "/health/status", timeout=10)

    assert (ping.status_code, ping.text) == (200, "pong")
    assert ping.headers["Server"].startswith("gunicorn")
    assert status.status_code == 200


# ---------------------------------------------------------------- messages a Seldon user writes by hand


def test_an_ndarray_request(deployed: Dict[str, RemoteModel]) -> None:
    response = post(deployed["doubler"], {"data": {"ndarray": [[1, 2], [3, 4]]}})

    assert response.status_code == 200
    assert response.json()["data"]["ndarray"] == [[2, 4], [6, 8]]


def test_a_tensor_request(deployed: Dict[str, RemoteModel]) -> None:
    response = post(deployed["doubler"], {"data": {"tensor": {"shape": [2, 2], "values": [1.5, 2, 3, 4]}}})

    assert response.status_code == 200
    assert response.json()["data"]["ndarray"] == [[3.0, 4.0], [6.0, 8.0]]


def test_an_ndarray_with_column_names(deployed: Dict[str, RemoteModel]) -> None:
    response = post(deployed["doubler"], {"data": {"names": ["a", "b", "c"], "ndarray": [[1, 2, 3]]}})

    assert response.status_code == 200
    assert response.json()["data"]["ndarray"] == [[2, 4, 6]]


def test_a_str_data_request(deployed: Dict[str, RemoteModel]) -> None:
    response = post(deployed["shouter"], {"strData": "hello"})

    assert response.status_code == 200
    assert response.json()["strData"] == "HELLO!"


def test_a_json_data_request(deployed: Dict[str, RemoteModel]) -> None:
    response = post(deployed["summary"], {"jsonData": {"x": 1, "y": [2]}})

    assert response.status_code == 200
    assert response.json()["jsonData"] == {"keys": ["x", "y"], "size": 2}


def test_several_inputs_travel_as_json_data_members(deployed: Dict[str, RemoteModel]) -> None:
    response = post(deployed["labeller"], {"jsonData": {"values": [[1, 2], [3, 4]], "label": "pairs"}})

    assert response.status_code == 200
    assert response.json()["jsonData"] == {"output0": [3, 7], "output1": "pairs:2"}


def test_a_form_posted_json_field_as_seldon_curl_examples_send(deployed: Dict[str, RemoteModel]) -> None:
    response = requests.post(
        deployed["shouter"].endpoint + PREDICTIONS, data={"json": '{"strData": "form"}'}, timeout=30
    )

    assert response.status_code == 200
    assert response.json()["strData"] == "FORM!"


# ---------------------------------------------------------------- malformed requests get Seldon's error shape


def assert_seldon_bad_request(response: requests.Response, *words: str) -> None:
    """Status 400 and a SeldonMessage whose `status` says FAILURE, with a message naming the problem."""
    assert response.status_code == 400, response.text
    status = response.json()["status"]
    assert status["status"] in (1, "FAILURE")
    assert status["reason"] == "MICROSERVICE_BAD_DATA"
    for word in words:
        assert word in status["info"]


@pytest.mark.parametrize(
    ("name", "body", "words"),
    [
        ("doubler", b"not json", ("not JSON",)),
        ("doubler", b"[1, 2]", ("JSON object",)),
        ("doubler", b"", ("not JSON",)),
        ("doubler", b'{"strData": "text"}', ("input 'values'", "data.ndarray")),
        ("doubler", b'{"data": {"ndarray": [[1, 2], [3]]}}', ("input 'values'", "rectangular")),
        ("doubler", b'{"data": {"ndarray": [{"a": 1}]}}', ("input 'values'",)),
        ("doubler", b'{"data": {"tensor": {"shape": [3], "values": [1, 2]}}}', ("input 'values'",)),
        ("doubler", b'{"data": {"tensor": {"shape": [-1], "values": []}}}', ("input 'values'", "shape")),
        ("doubler", b'{"data": {}}', ("input 'values'", "neither ndarray nor tensor")),
        ("shouter", b'{"strData": 3}', ("input 'text'",)),
        ("summary", b'{"jsonData": "a string"}', ("input 'document'",)),
        ("labeller", b'{"jsonData": {"values": [1]}}', ("label",)),
    ],
)
def test_a_malformed_request_is_a_400_with_seldons_status(
    deployed: Dict[str, RemoteModel], name: str, body: bytes, words: Tuple[str, ...]
) -> None:
    response = post(deployed[name], data=body, headers={"Content-Type": "application/json"})

    assert_seldon_bad_request(response, *words)


def test_a_model_that_fails_is_a_500_with_seldons_status_and_a_remote_error(
    deployed: Dict[str, RemoteModel],
) -> None:
    response = post(deployed["failing"], {"data": {"ndarray": [1]}})

    assert response.status_code == 500
    assert response.json()["status"]["reason"] == "MICROSERVICE_INTERNAL_ERROR"
    assert "this model always fails" in response.json()["status"]["info"]
    with pytest.raises(RemoteError, match="this model always fails") as raised:
        deployed["failing"].predict(np.ones(2))
    assert raised.value.status_code == 500


# ---------------------------------------------------------------- a standard sklearn artifact


def test_a_standard_sklearn_artifact_over_the_seldon_protocol(iris_artifacts: str) -> None:
    iris = Model(
        name="seldon-iris-sklearn",
        platform=ModelFramework.SKLearn,
        local_folder=f"{iris_artifacts}/sklearn",
        protocol=SeldonProtocol(),
    )

    with deploy_local(iris) as remote:
        got = remote.predict(IRIS)
        by_hand = post(remote, {"data": {"ndarray": IRIS.tolist()}})

    np.testing.assert_array_equal(got, iris(IRIS))
    assert by_hand.status_code == 200
    assert by_hand.json()["data"]["ndarray"] == iris(IRIS).tolist()


# ---------------------------------------------------------------- in Docker


@pytest.mark.docker
def test_a_custom_model_in_a_container_over_the_seldon_protocol(models: Dict[str, Any], base_image: str) -> None:
    build_image(SERVING_IMAGE, base=base_image)  # this environment, seldon-core included
    options = DockerOptions(image=SERVING_IMAGE, namespace="tempo-seldon-test")
    labeller = models["labeller"]
    values = np.arange(6, dtype=np.int32).reshape(3, 2)

    with deploy_local(labeller, options) as remote:
        got = remote.predict(values, "rows")
        by_hand = post(remote, {"jsonData": {"values": [[1, 2]], "label": "one"}})
        bad = post(remote, data=b"{", headers={"Content-Type": "application/json"})

    expected = labeller(values, "rows")
    np.testing.assert_array_equal(got[0], expected[0])
    assert (got[0].dtype, got[1]) == (expected[0].dtype, expected[1])
    assert by_hand.json()["jsonData"] == {"output0": [3], "output1": "one:1"}
    assert_seldon_bad_request(bad, "not JSON")


def test_an_async_pipeline_over_the_seldon_protocol_runs_its_gathered_children_together(tmp_path: Path) -> None:
    fan_out = make_fan_out(tmp_path, protocol=SeldonProtocol())

    with deploy_local(fan_out, LocalOptions(colocate=False)) as remote:
        spans = remote.predict(0.5)

    assert spans.shape == (3, 2)
    assert ran_together(spans), "every child started before any ended"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("batching", BatchingOptions(max_batch_size=4, max_batch_time=0.01)),
        ("request_log", RequestLogOptions(url="http://logger.logs/")),
    ],
)
def test_what_seldon_cores_microservice_cannot_do_is_refused_before_it_starts(
    models: Dict[str, Any], field: str, value: Any
) -> None:
    with pytest.raises(DeployError, match=rf"model 'doubler' uses the Seldon protocol.*has no {field}"):
        deploy_local(models["doubler"], LocalOptions(**{field: value}))
