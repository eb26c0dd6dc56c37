"""Prometheus metrics, on by default: scraped from a real MLServer while it serves a pipeline under a bounded load."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import requests
from tests_support import samples

from tempo_core import PipelineModels, deploy_local, model, pipeline
from tempo_core.options import LocalOptions

pytestmark = pytest.mark.server

CALLS = 40


def make_pipeline(folder: Path):  # type: ignore[no-untyped-def]
    @model(name="doubler", local_folder=str(folder / "doubler"))
    def doubler(values: np.ndarray) -> np.ndarray:
        return values * 2

    @model(name="negator", local_folder=str(folder / "negator"))
    def negator(values: np.ndarray) -> np.ndarray:
        return -values

    @pipeline(name="chain", models=PipelineModels(doubler=doubler, negator=negator), local_folder=str(folder / "chain"))
    def chain(values: np.ndarray) -> np.ndarray:
        return chain.models.negator(chain.models.doubler(values))

    return chain


@pytest.mark.parametrize("colocate", [True, False], ids=["children-in-the-pipelines-server", "children-on-their-own"])
def test_a_pipelines_metrics_count_its_requests_and_time_each_child(tmp_path: Path, colocate: bool) -> None:
    with deploy_local(make_pipeline(tmp_path), LocalOptions(colocate=colocate)) as remote:
        assert remote.metrics_endpoint is not None
        answered = threading.Event()

        def serve_load() -> None:
            for _ in range(CALLS):
                remote.predict(np.ones(3))
                answered.set()

        load = threading.Thread(target=serve_load)
        load.start()
        answered.wait(timeout=60)  # the server's series for the model exist from its first answer on
        during = samples(remote.metrics_endpoint)
        load.join()
        after = samples(remote.metrics_endpoint)

    for child in ("doubler", "negator"):
        key = ("tempo_pipeline_child_seconds_count", (("child", child), ("model_name", "chain")))
        assert after[key] == CALLS, f"one observation per call of {child}"
    chain = (("model", "chain"), ("version", "None"))
    assert ("model_infer_request_failure_total", chain) in during, "scraped while it served the load"
    assert after[("model_infer_request_success_total", chain)] == CALLS
    assert after[("model_infer_request_failure_total", chain)] == 0


def test_tempo_list_shows_the_metrics_url_and_metrics_can_be_turned_off(tmp_path: Path) -> None:
    chain = make_pipeline(tmp_path)
    with deploy_local(chain) as remote:
        listed = subprocess.run(
            [sys.executable, "-m", "tempo_core", "list"], capture_output=True, text=True, check=True
        ).stdout
        assert f"metrics {remote.metrics_endpoint}" in listed
    with deploy_local(chain, LocalOptions(metrics=False)) as remote:
        assert remote.metrics_endpoint is None
        assert remote.predict(np.ones(1)).tolist() == [-2.0]


def test_json_binary_and_grpc_requests_are_all_counted(tmp_path: Path) -> None:
    @model(name="tripler", local_folder=str(tmp_path / "tripler"))
    def tripler(values: np.ndarray) -> np.ndarray:
        return values * 3

    body = {"inputs": [{"name": "values", "datatype": "FP64", "shape": [2], "data": [1.0, 2.0]}]}
    with deploy_local(tripler) as remote:
        assert remote.metrics_endpoint is not None
        url = f"{remote.endpoint}/v2/models/tripler/infer"
        assert requests.post(url, json=body, timeout=10).json()["outputs"][0]["data"] == [3.0, 6.0]
        assert requests.post(url, json={"inputs": []}, timeout=10).status_code == 400
        assert remote.with_options(binary=True).predict(np.ones(2000)).sum() == 6000
        assert remote.with_options(transport="grpc").predict(np.ones(2000)).sum() == 6000
        counted = samples(remote.metrics_endpoint)

    series = (("model", "tripler"), ("version", "None"))
    assert counted[("model_infer_request_success_total", series)] == 3
    assert counted[("model_infer_request_failure_total", series)] == 1
    assert counted[("model_infer_request_duration_count", series)] == 4
    rest = {
        labels: value
        for (name, labels), value in counted.items()
        if name == "rest_server_requests_total" and ("path", "/v2/models/{model_name}/infer") in labels
    }
    assert sorted(dict(labels)["status_code"] for labels in rest) == ["200", "400"]
    assert sum(rest.values()) == 3, "the JSON, the malformed and the binary REST request"


def test_a_model_can_log_metrics_with_mlservers_api_on_every_transport(tmp_path: Path) -> None:
    # mlserver.log labels the values by the model whose request is running, and raises outside one: each answer
    # below needs the model's context set around the model's code. (MLServer exports such metrics only when it runs
    # parallel workers; tempo's servers run none.)
    @model(name="counter", local_folder=str(tmp_path / "counter"))
    def counter(values: np.ndarray) -> np.ndarray:
        import mlserver

        mlserver.log(values_seen=float(values.size))
        return values

    with deploy_local(counter) as remote:
        assert remote.predict(np.ones(2)).tolist() == [1.0, 1.0]
        assert remote.with_options(binary=True).predict(np.ones(3)).sum() == 3
        assert remote.with_options(transport="grpc").predict(np.ones(5)).sum() == 5
