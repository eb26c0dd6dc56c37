"""The Docker runtime end to end, on a real engine: define, save, deploy in containers, predict, undeploy.

Every server here is MLServer in a container of the serving image; nothing is mocked.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Tuple

import docker
import numpy as np
import pytest
import requests

from tempo_core import deploy, deploy_local, model, pipeline, save
from tempo_core.errors import DeployError, ServerNotReadyError
from tempo_core.pipeline import PipelineModels
from tempo_docker import DockerOptions
from tempo_test_support.user_models import make_fan_out, make_multiplier, ran_together

pytestmark = pytest.mark.docker

VERSICOLOR = np.array([[5.9, 2.8, 4.1, 1.3]])
SETOSA = np.array([[5.1, 3.5, 1.4, 0.2]])


def tempo_containers(engine: docker.DockerClient, namespace: str) -> list[docker.models.containers.Container]:
    """What `docker ps -a --filter label=...` shows a user for the namespace."""
    labels = ["io.tempo.managed=true", f"io.tempo.namespace={namespace}"]
    return engine.containers.list(all=True, filters={"label": labels})


def tempo_networks(engine: docker.DockerClient, namespace: str) -> list[str]:
    labels = ["io.tempo.managed=true", f"io.tempo.namespace={namespace}"]
    return [network.name for network in engine.networks.list(filters={"label": labels})]


def make_scaler(folder: Path):  # type: ignore[no-untyped-def]
    @model(name="scaler", local_folder=str(folder))
    def scaler(values: np.ndarray, label: str) -> Tuple[np.ndarray, str]:
        return values * scaler.context.factor, f"{scaler.context.greeting} {label}"

    @scaler.loadmethod
    def load_settings() -> None:
        scaler.context.factor = json.loads((Path(scaler.details.local_folder) / "factor.json").read_text())
        scaler.context.greeting = os.environ.get("GREETING", "hello")

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "factor.json").write_text("3")
    return scaler


def test_a_custom_model_in_a_container_returns_what_it_returns_in_process(
    tmp_path: Path, engine: docker.DockerClient, options: DockerOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    scaler = make_scaler(tmp_path / "scaler")
    values = np.arange(6, dtype=np.float32).reshape(2, 3)
    monkeypatch.setenv("GREETING", "hi")
    expected = scaler(values, "ok")
    limited = options.model_copy(
        update={"env": {"GREETING": "hi"}, "cpus": 1.5, "memory": "1g", "labels": {"team": "ml"}}
    )

    started = time.monotonic()
    with deploy_local(scaler, options=limited) as remote:
        ready_seconds = time.monotonic() - started
        result = remote.predict(values, label="ok")
        endpoint = remote.endpoint
        (container,) = tempo_containers(engine, options.namespace)
        deployed = [(entry.name, entry.status) for entry in remote.runtime.list()]

    assert isinstance(result, tuple)
    np.testing.assert_array_equal(result[0], expected[0])
    assert result[0].dtype == np.float32 and result[0].shape == (2, 3)
    assert result[1] == expected[1] == "hi ok"
    assert endpoint.startswith("http://127.0.0.1:")
    assert deployed == [("scaler", "running")]
    host_config = container.attrs["HostConfig"]
    assert {binding["HostIp"] for binding in host_config["PortBindings"]["8080/tcp"]} == {"127.0.0.1"}
    assert host_config["NanoCpus"] == 1_500_000_000 and host_config["Memory"] == 2**30
    artifact = next(mount for mount in container.attrs["Mounts"] if mount["Source"] == str(tmp_path / "scaler"))
    assert artifact["RW"] is False and artifact["Destination"] == artifact["Source"]
    assert container.labels["team"] == "ml" and container.labels["io.tempo.model"] == "scaler"
    assert ready_seconds < 30
    assert tempo_containers(engine, options.namespace) == [] and tempo_networks(engine, options.namespace) == []


def test_the_iris_pipeline_in_containers_matches_in_process(
    iris_artifacts: str, engine: docker.DockerClient, options: DockerOptions
) -> None:
    from models import SKLearnTag, XGBoostTag, get_tempo_artifacts

    classifier, _, _ = get_tempo_artifacts(iris_artifacts)
    in_process = [classifier(VERSICOLOR), classifier(SETOSA)]
    assert [tag for _, tag in in_process] == [SKLearnTag, XGBoostTag]

    save(classifier)
    with deploy(classifier, options) as remote:
        deployed = [remote.predict(VERSICOLOR), remote.predict(payload=SETOSA)]
        names = {entry.name for entry in remote.runtime.list()}
        networks = {
            name
            for container in tempo_containers(engine, options.namespace)
            for name in container.attrs["NetworkSettings"]["Networks"]
        }

    for (array, tag), (expected_array, expected_tag) in zip(deployed, in_process, strict=True):
        np.testing.assert_array_equal(array, expected_array)
        assert tag == expected_tag
    assert names == {"classifier", "test-iris-sklearn", "test-iris-xgboost"}
    assert networks == {f"tempo-{options.namespace}"}
    assert tempo_containers(engine, options.namespace) == [] and tempo_networks(engine, options.namespace) == []


def test_a_child_deployed_on_its_own_outlives_the_pipeline_that_uses_it(
    iris_artifacts: str, engine: docker.DockerClient, options: DockerOptions
) -> None:
    from models import get_tempo_artifacts

    classifier, sklearn_model, _ = get_tempo_artifacts(iris_artifacts)
    expected = sklearn_model(VERSICOLOR)
    save(classifier)
    with deploy(sklearn_model, options) as child:
        with deploy(classifier, options) as remote:
            remote.predict(SETOSA)
        survivors = [(entry.name, entry.status) for entry in child.runtime.list()]
        still_answers = child.predict(VERSICOLOR)

    assert survivors == [("test-iris-sklearn", "running")]
    np.testing.assert_array_equal(still_answers, expected)
    assert tempo_containers(engine, options.namespace) == []


def test_a_server_that_crashes_at_start_is_reported_within_the_timeout(
    tmp_path: Path, engine: docker.DockerClient, options: DockerOptions
) -> None:
    @model(name="broken-loader", local_folder=str(tmp_path / "broken"))
    def broken(values: np.ndarray) -> np.ndarray:
        return values

    @broken.loadmethod
    def explode() -> None:
        raise RuntimeError("the weights file is corrupt")

    started = time.monotonic()
    with pytest.raises(ServerNotReadyError, match=r"broken-loader(.|\n)*exited(.|\n)*the weights file is corrupt"):
        deploy_local(broken, options.model_copy(update={"startup_timeout": 60}))

    assert time.monotonic() - started < 60
    assert tempo_containers(engine, options.namespace) == [] and tempo_networks(engine, options.namespace) == []


def test_a_pipeline_whose_child_crashes_leaves_nothing_behind(
    tmp_path: Path, engine: docker.DockerClient, options: DockerOptions
) -> None:
    scaler = make_scaler(tmp_path / "scaler")

    @model(name="failing-child", local_folder=str(tmp_path / "failing"))
    def failing(values: np.ndarray) -> np.ndarray:
        return values

    @failing.loadmethod
    def refuse() -> None:
        raise RuntimeError("no GPU here")

    @pipeline(name="both", local_folder=str(tmp_path / "both"), models=PipelineModels(scaler=scaler, failing=failing))
    def both(values: np.ndarray) -> np.ndarray:
        return both.models.failing(values=both.models.scaler(values, "x")[0])

    with pytest.raises(ServerNotReadyError, match=r"failing-child(.|\n)*no GPU here"):
        deploy(both, options)

    assert tempo_containers(engine, options.namespace) == [] and tempo_networks(engine, options.namespace) == []


def test_redeploying_keeps_a_running_container_and_replaces_it_when_the_model_changed(
    tmp_path: Path, engine: docker.DockerClient, options: DockerOptions
) -> None:
    scaler = make_scaler(tmp_path / "scaler")
    with deploy(scaler, options) as first:
        (original,) = tempo_containers(engine, options.namespace)
        second = deploy(scaler, options)
        (kept,) = tempo_containers(engine, options.namespace)
        same_endpoint = second.endpoint == first.endpoint

        (tmp_path / "scaler" / "factor.json").write_text("5")
        save(scaler)
        third = deploy(scaler, options)
        (replaced,) = tempo_containers(engine, options.namespace)
        answer = third.predict(np.ones(1), "x")

    assert kept.id == original.id and same_endpoint
    assert replaced.id != original.id
    np.testing.assert_array_equal(answer[0], np.array([5.0]))
    assert tempo_containers(engine, options.namespace) == []


def test_a_redeploy_after_an_edit_serves_the_new_code_and_an_unchanged_one_keeps_its_container(
    tmp_path: Path, engine: docker.DockerClient, options: DockerOptions
) -> None:
    with deploy(make_multiplier(tmp_path / "multiplier", 2), options):
        (original,) = tempo_containers(engine, options.namespace)
        deploy(make_multiplier(tmp_path / "multiplier", 2), options)
        (kept,) = tempo_containers(engine, options.namespace)

        edited = deploy(make_multiplier(tmp_path / "multiplier", 3), options)
        (replaced,) = tempo_containers(engine, options.namespace)
        answer = edited.predict(np.ones(2))

    assert kept.id == original.id
    assert replaced.id != original.id
    assert answer.tolist() == [3.0, 3.0]
    assert tempo_containers(engine, options.namespace) == []


def test_two_namespaces_on_one_engine_do_not_collide(
    tmp_path: Path, engine: docker.DockerClient, options: DockerOptions
) -> None:
    scaler = make_scaler(tmp_path / "scaler")
    alice = options.model_copy(update={"namespace": "tempo-test-alice"})
    bob = options.model_copy(update={"namespace": "tempo-test-bob"})

    with deploy(scaler, alice) as for_alice, deploy(scaler, bob) as for_bob:
        endpoints = {for_alice.endpoint, for_bob.endpoint}
        for_alice.undeploy()
        bob_still_answers = for_bob.predict(np.ones(1), "bob")[1]
        left = [
            (container.labels["io.tempo.namespace"], container.status)
            for container in engine.containers.list(all=True, filters={"label": "io.tempo.model=scaler"})
        ]
        networks_left = tempo_networks(engine, "tempo-test-alice") + tempo_networks(engine, "tempo-test-bob")

    assert len(endpoints) == 2
    assert bob_still_answers == "hello bob"
    assert left == [("tempo-test-bob", "running")]
    assert networks_left == ["tempo-tempo-test-bob"]
    assert tempo_containers(engine, "tempo-test-bob") == []


def test_a_missing_image_names_the_command_that_builds_it(
    tmp_path: Path, engine: docker.DockerClient, options: DockerOptions
) -> None:
    scaler = make_scaler(tmp_path / "scaler")

    with pytest.raises(
        DeployError, match=r"'tempo-mlserver:missing'(.|\n)*tempo docker build-image tempo-mlserver:missing"
    ):
        deploy(scaler, options.model_copy(update={"image": "tempo-mlserver:missing"}))

    assert tempo_containers(engine, options.namespace) == []


def test_containers_deployed_by_an_interpreter_are_removed_when_it_is_stopped(
    tmp_path: Path, engine: docker.DockerClient, options: DockerOptions
) -> None:
    namespace = f"{options.namespace}-exit"
    (tmp_path / "short-lived").mkdir()
    (tmp_path / "short-lived" / "requirements.txt").write_text("numpy\n")
    script = tmp_path / "serve.py"
    script.write_text(
        "import time, numpy as np\n"
        "from tempo_core import model, deploy_local\n"
        "from tempo_docker import DockerOptions\n"
        f"@model(name='short-lived', local_folder={str(tmp_path / 'short-lived')!r})\n"
        "def short_lived(values: np.ndarray) -> np.ndarray:\n"
        "    return values\n"
        f"deploy_local(short_lived, DockerOptions(namespace={namespace!r}, image={options.image!r}))\n"
        "print('ready', flush=True)\n"
        "time.sleep(120)\n"
    )
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        assert [container.labels["io.tempo.model"] for container in tempo_containers(engine, namespace)] == [
            "short-lived"
        ]
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    finally:
        process.kill()

    assert tempo_containers(engine, namespace) == []
    assert tempo_networks(engine, namespace) == []


def test_a_container_answers_over_grpc_and_with_the_protocols_errors(
    tmp_path: Path, engine: docker.DockerClient, options: DockerOptions
) -> None:
    scaler = make_scaler(tmp_path / "scaler")
    values = np.arange(6, dtype=np.float32).reshape(2, 3)

    with deploy_local(scaler, options=options) as remote:
        over_grpc = remote.with_options(transport="grpc").predict(values, label="ok")
        listed = {entry.name: entry.grpc_endpoint for entry in remote.runtime.list()}
        bad = requests.post(f"{remote.endpoint}/v2/models/scaler/infer", data=b"not JSON")
        (container,) = tempo_containers(engine, options.namespace)
        grpc_endpoint = remote.grpc_endpoint

    np.testing.assert_array_equal(over_grpc[0], values * 3)
    assert over_grpc[1] == "hello ok"
    assert grpc_endpoint is not None and grpc_endpoint.startswith("127.0.0.1:")
    assert listed == {"scaler": grpc_endpoint}
    grpc_port = container.labels["io.tempo.grpc-port"]
    assert {binding["HostIp"] for binding in container.attrs["HostConfig"]["PortBindings"][f"{grpc_port}/tcp"]} == {
        "127.0.0.1"
    }
    assert bad.status_code == 400 and "not JSON" in bad.json()["error"]


def test_an_async_pipeline_in_containers_calls_the_children_it_gathers_at_the_same_time(
    tmp_path: Path, engine: docker.DockerClient, options: DockerOptions
) -> None:
    with deploy(make_fan_out(tmp_path), options) as remote:
        spans = remote.predict(0.5)
        metrics = requests.get(remote.metrics_endpoint or "", timeout=5).text
        containers = len(tempo_containers(engine, options.namespace))

    assert containers == 4, "the pipeline and each child in a container of its own"
    assert spans.shape == (3, 2) and ran_together(spans), "every child started before any ended"
    assert 'tempo_pipeline_child_seconds_count{child="sleeper-0",model_name="fan-out"} 1.0' in metrics
    assert tempo_containers(engine, options.namespace) == []
