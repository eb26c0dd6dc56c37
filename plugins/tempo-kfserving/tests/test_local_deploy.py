"""The main job end to end: define, save, deploy_local on real MLServer processes, predict, undeploy.

Every server here is a real `mlserver start` child process on loopback; nothing is mocked.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
import pytest
import requests
from tests_support import pid_alive

from tempo_core import deploy_local, load, local_state, model, predictmethod, save
from tempo_core.errors import DeployError, RemoteError, ServerNotReadyError
from tempo_core.options import ClientOptions, LocalOptions
from tempo_core.testing import assert_same_result
from tempo_kfserving import KFServingOptions
from tempo_test_support.user_models import make_multiplier

pytestmark = pytest.mark.server

VERSICOLOR = np.array([[5.9, 2.8, 4.1, 1.3]])
SETOSA = np.array([[5.1, 3.5, 1.4, 0.2]])


def server_pids() -> set[int]:
    return {record.pid for record in local_state.records()}


def make_scaler(folder: Path):  # type: ignore[no-untyped-def]
    @model(name="scaler", local_folder=str(folder))
    def scaler(values: np.ndarray, label: str) -> Tuple[np.ndarray, str]:
        return values * scaler.context.factor, label.upper()

    @scaler.loadmethod
    def load_factor() -> None:
        scaler.context.factor = json.loads((Path(scaler.details.local_folder) / "factor.json").read_text())

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "factor.json").write_text("3")
    return scaler


def test_a_custom_function_model_deployed_returns_what_it_returns_in_process(tmp_path: Path) -> None:
    scaler = make_scaler(tmp_path / "scaler")
    values = np.arange(6, dtype=np.float32).reshape(2, 3)
    expected = scaler(values, "ok")

    save(scaler)
    with deploy_local(scaler) as remote:
        result = remote.predict(values, label="ok")
        pid = next(iter(server_pids()))

    assert isinstance(result, tuple)
    np.testing.assert_array_equal(result[0], expected[0])
    assert result[0].dtype == np.float32 and result[0].shape == (2, 3)
    assert result[1] == "OK"
    assert not pid_alive(pid), "undeploy must stop the server process"


def make_detector(folder: Path):  # type: ignore[no-untyped-def]
    @model(name="detector", local_folder=str(folder))
    class Detector:
        def __init__(self) -> None:
            self.limit = json.loads((Path(self.get_tempo().details.local_folder) / "limit.json").read_text())

        @predictmethod
        def detect(self, payload: np.ndarray) -> dict:
            return {"outliers": (np.abs(payload) > self.limit).ravel().tolist(), "limit": self.limit}

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "limit.json").write_text("2.5")
    return Detector


def test_a_class_model_with_a_loader_deployed_returns_the_same_dict(tmp_path: Path) -> None:
    Detector = make_detector(tmp_path / "detector")
    payload = np.array([1.0, -3.0, 2.0])
    expected = Detector()(payload)

    with deploy_local(Detector) as remote:
        assert remote.predict(payload) == expected


@pytest.mark.parametrize("colocate", [True, False], ids=["colocated", "one-server-per-model"])
def test_the_iris_pipeline_deployed_matches_in_process(iris_artifacts: str, colocate: bool) -> None:
    from models import SKLearnTag, XGBoostTag, get_tempo_artifacts

    classifier, _, _ = get_tempo_artifacts(iris_artifacts)
    in_process = [classifier(VERSICOLOR), classifier(SETOSA)]
    assert [tag for _, tag in in_process] == [SKLearnTag, XGBoostTag]

    save(classifier)
    with deploy_local(classifier, LocalOptions(colocate=colocate)) as remote:
        deployed = [remote.predict(VERSICOLOR), remote.predict(payload=SETOSA)]
        names = {entry.name for entry in remote.runtime.list()}
        child_answer = requests.post(
            f"{remote.runtime.endpoint(classifier.models.sklearn)}/v2/models/test-iris-sklearn/infer",
            json={"inputs": [{"name": "input", "datatype": "FP64", "shape": [1, 4], "data": SETOSA.ravel().tolist()}]},
            timeout=10,
        )
        pids = server_pids()

    for (array, tag), (expected_array, expected_tag) in zip(deployed, in_process, strict=True):
        np.testing.assert_array_equal(array, expected_array)
        assert tag == expected_tag
    assert names == {"classifier", "test-iris-sklearn", "test-iris-xgboost"}
    assert child_answer.json()["outputs"][0]["data"] == [0], "each child keeps its own V2 endpoint"
    assert len(pids) == (1 if colocate else 3)
    assert not any(pid_alive(pid) for pid in pids)


def test_a_pipeline_calls_a_child_deployed_on_its_own_over_the_network(iris_artifacts: str) -> None:
    from models import get_tempo_artifacts

    classifier, sklearn_model, _ = get_tempo_artifacts(iris_artifacts)
    save(classifier)
    with deploy_local(sklearn_model) as child, deploy_local(classifier) as remote:
        assert remote.runtime.endpoint(sklearn_model) == child.endpoint
        result, _ = remote.predict(VERSICOLOR)
        with pytest.raises(DeployError, match=r"served inside pipeline 'classifier'"):
            remote.runtime.undeploy(classifier.models.xgboost)
        child_pid = local_state.find_record("test-iris-sklearn").pid  # type: ignore[union-attr]
    np.testing.assert_array_equal(result, classifier(VERSICOLOR)[0])
    assert not pid_alive(child_pid)


def test_model_metadata_shows_the_signature(tmp_path: Path) -> None:
    scaler = make_scaler(tmp_path / "scaler")
    with deploy_local(scaler) as remote:
        metadata = requests.get(f"{remote.endpoint}/v2/models/scaler", timeout=5).json()

    assert [item["name"] for item in metadata["inputs"]] == ["values", "label"]
    assert [item["name"] for item in metadata["outputs"]] == ["output0", "output1"]


def test_deploy_local_saves_first_when_the_model_was_never_saved(tmp_path: Path) -> None:
    scaler = make_scaler(tmp_path / "fresh")
    with deploy_local(scaler) as remote:
        assert remote.predict(np.ones(2), "a")[1] == "A"
    assert load(tmp_path / "fresh")(np.ones(1), "b")[1] == "B"


def test_a_request_that_does_not_fit_the_signature_is_a_400_naming_the_input(tmp_path: Path) -> None:
    scaler = make_scaler(tmp_path / "scaler")
    with deploy_local(scaler) as remote:
        url = f"{remote.endpoint}/v2/models/scaler/infer"
        wrong_shape = {
            "inputs": [
                {"name": "values", "datatype": "FP32", "shape": [2, 2], "data": [1, 2, 3]},
                {"name": "label", "datatype": "BYTES", "shape": [1], "data": ["x"]},
            ]
        }
        response = requests.post(url, json=wrong_shape, timeout=10)
        missing = requests.post(url, json={"inputs": wrong_shape["inputs"][:1]}, timeout=10)
        still_serving = remote.predict(np.ones(1), "x")

    assert response.status_code == 400 and "values" in response.json()["error"]
    assert missing.status_code == 400 and "label" in missing.json()["error"]
    assert still_serving[1] == "X"


def test_a_model_that_raises_gets_a_500_with_its_message_and_the_server_keeps_serving(tmp_path: Path) -> None:
    @model(name="picky", local_folder=str(tmp_path / "picky"))
    def picky(values: np.ndarray) -> np.ndarray:
        if values.sum() < 0:
            raise ValueError("negative totals are not allowed")
        return values

    with deploy_local(picky) as remote:
        with pytest.raises(RemoteError, match=r"500.*ValueError: negative totals are not allowed") as raised:
            remote.predict(-np.ones(2))
        assert raised.value.status_code == 500
        np.testing.assert_array_equal(remote.predict(np.ones(2)), np.ones(2))


def test_a_server_that_dies_at_start_is_reported_with_its_last_lines(tmp_path: Path) -> None:
    @model(name="broken-loader", local_folder=str(tmp_path / "broken"))
    def broken(values: np.ndarray) -> np.ndarray:
        return values

    @broken.loadmethod
    def explode() -> None:
        raise RuntimeError("the weights file is corrupt")

    started = time.monotonic()
    with pytest.raises(ServerNotReadyError, match=r"broken-loader(.|\n)*the weights file is corrupt"):
        deploy_local(broken, LocalOptions(startup_timeout=30))
    assert time.monotonic() - started < 30
    assert server_pids() == set()


def test_a_second_deploy_of_an_unchanged_model_reuses_its_server(tmp_path: Path) -> None:
    with deploy_local(make_multiplier(tmp_path / "multiplier", 2)) as first:
        pids = server_pids()
        second = deploy_local(make_multiplier(tmp_path / "multiplier", 2))

        assert server_pids() == pids
        assert second.endpoint == first.endpoint
        assert second.predict(np.ones(1)).tolist() == [2.0]


def test_a_redeploy_after_an_edit_serves_the_new_code(tmp_path: Path) -> None:
    with deploy_local(make_multiplier(tmp_path / "multiplier", 2)) as first:
        assert first.predict(np.ones(2)).tolist() == [2.0, 2.0]
        pids = server_pids()

        edited = deploy_local(make_multiplier(tmp_path / "multiplier", 3))

        assert edited.predict(np.ones(2)).tolist() == [3.0, 3.0]
        assert first.predict(np.ones(2)).tolist() == [3.0, 3.0], "the same server, now serving the new code"
        assert server_pids().isdisjoint(pids)
        assert load(tmp_path / "multiplier")(np.ones(1)).tolist() == [3.0], "the edit was saved"
    assert server_pids() == set()


def test_list_dict_and_tuple_outputs_come_back_as_the_types_they_are_in_process(tmp_path: Path) -> None:
    @model(name="summary", local_folder=str(tmp_path / "summary"))
    def summary(values: np.ndarray) -> Tuple[List[int], Dict[str, List[float]], np.ndarray]:
        return [int(values.size)], {"totals": values.sum(axis=0).tolist()}, values.max(axis=0)

    values = np.arange(6, dtype=np.float64).reshape(2, 3)
    with deploy_local(summary) as remote:
        assert_same_result(remote.predict(values), summary(values), "summary")


def test_deploy_local_of_a_model_set_up_for_a_cluster_serves_it_on_this_machine(tmp_path: Path) -> None:
    multiplier = make_multiplier(tmp_path / "multiplier", 2)
    multiplier.runtime_options = KFServingOptions(remote_options={"namespace": "production"})

    with deploy_local(multiplier) as remote:
        assert remote.endpoint.startswith("http://127.0.0.1:")
        assert remote.predict(np.ones(1)).tolist() == [2.0]
    with deploy_local(multiplier, KFServingOptions(client=ClientOptions(timeout=5.0))) as remote:
        assert remote.predict(np.ones(1)).tolist() == [2.0]
        assert remote.runtime is not None and remote.runtime.name == "local"
        assert remote.options.timeout == 5.0, "the cluster options' client settings still apply"


def test_an_interpreter_stopped_with_sigterm_leaves_no_server_behind(tmp_path: Path) -> None:
    script = tmp_path / "serve.py"
    script.write_text(
        "import sys, time, numpy as np\n"
        "from tempo_core import model, deploy_local, local_state\n"
        f"@model(name='held', local_folder={str(tmp_path / 'held')!r})\n"
        "def held(values: np.ndarray) -> np.ndarray:\n"
        "    return values\n"
        "deploy_local(held)\n"
        "print(local_state.find_record('held').pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        server_pid = int(process.stdout.readline())  # type: ignore[union-attr]
        assert pid_alive(server_pid)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    finally:
        process.kill()
    deadline = time.monotonic() + 10
    while pid_alive(server_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pid_alive(server_pid)
