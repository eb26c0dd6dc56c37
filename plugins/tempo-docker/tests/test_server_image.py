"""A serving image for a cluster, made and shipped as a user does: built, pushed to a real registry on loopback,
pulled back, and run as Seldon Core and KServe run a `serverImage`: with no command, as user 1000, the artifact
read-only at /mnt/models, configured only by the MLSERVER_* variables that tempo's manifests set."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Tuple

import docker
import numpy as np
import pytest
import requests
from docker.models.containers import Container
from docker.types import Mount

from tempo_core import model, save
from tempo_core.errors import DeployError
from tempo_core.kubernetes import MODEL_MOUNT_PATH
from tempo_core.processes import free_port
from tempo_docker import build_image
from tempo_kfserving.settings import cluster_server_env
from tempo_test_support.registry import LoopbackRegistry

pytestmark = pytest.mark.docker

# Every container and image these tests make is named so; no other is touched.
NAME = "tempo-push-test"
VALUES = np.arange(6, dtype=np.float32).reshape(2, 3)
READY_TIMEOUT = 60.0


def make_weighted(folder: Path):  # type: ignore[no-untyped-def]
    @model(name="weighted", local_folder=str(folder), uri="s3://models/weighted")
    def weighted(values: np.ndarray, label: str) -> Tuple[np.ndarray, str]:
        return values * weighted.context.weight, f"weighted {label}"

    @weighted.loadmethod
    def load_weight() -> None:
        weighted.context.weight = json.loads((Path(weighted.details.local_folder) / "weight.json").read_text())

    folder.mkdir(parents=True)
    (folder / "weight.json").write_text("2.5")
    return weighted


def _own_tags(image: docker.models.images.Image) -> list[str]:
    return [tag for tag in image.tags if tag.partition("/")[2].startswith(NAME)]


@pytest.fixture
def clean_engine(docker_engine: docker.DockerClient) -> Iterator[docker.DockerClient]:
    """The engine, checked after the test to hold no container or image tag named tempo-push-test (any left is
    removed: the tag only, so layers that other images share stay)."""
    yield docker_engine
    containers = docker_engine.containers.list(all=True, filters={"name": NAME})
    tags = [tag for image in docker_engine.images.list() for tag in _own_tags(image)]
    for container in containers:
        container.remove(force=True)
    for tag in tags:
        docker_engine.images.remove(tag, noprune=True)
    assert [container.name for container in containers] + tags == [], "the test left containers or images behind"


def build_and_push(tag: str, base: str) -> tuple[str, str]:
    """`tempo docker build-image TAG --push`, as a user runs it: the image id and the pushed reference."""
    result = subprocess.run(
        [sys.executable, "-m", "tempo_docker", "build-image", tag, "--base", base, "--push"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (built_tag, image_id), (reference,) = (line.split() for line in result.stdout.splitlines())
    assert built_tag == tag
    return image_id, reference


def wait_ready(container: Container, url: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1.0).status_code == 200:
                return
        except requests.RequestException:
            pass
        container.reload()
        assert container.status == "running", container.logs(tail=20).decode(errors="replace")
        time.sleep(0.1)
    pytest.fail(f"{url} was not ready within {READY_TIMEOUT:.0f} s:\n{container.logs(tail=20).decode()}")


def process_uid(container: Container) -> int:
    """The real uid of the container's main process, as the host's kernel sees it."""
    container.reload()
    status = Path(f"/proc/{container.attrs['State']['Pid']}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])


def test_a_pushed_image_pulled_back_serves_the_artifact_as_a_cluster_runs_it(
    tmp_path: Path, clean_engine: docker.DockerClient, base_image: str, registry: LoopbackRegistry
) -> None:
    weighted = make_weighted(tmp_path / "weighted")
    expected = weighted(VALUES, "ok")
    save(weighted)
    repository = f"{registry.address}/{NAME}"
    tag = f"{repository}:1"

    image_id, reference = build_and_push(tag, base_image)
    clean_engine.images.remove(tag, noprune=True)
    with pytest.raises(docker.errors.ImageNotFound):
        clean_engine.images.get(tag)
    pulled = clean_engine.images.pull(repository, tag="1")
    tags_in_registry = requests.get(f"http://{registry.address}/v2/{NAME}/tags/list", timeout=10).json()["tags"]

    http_port, grpc_port, metrics_port = free_port(), free_port(), free_port()
    env = {
        **cluster_server_env(weighted, {}),
        "MLSERVER_HTTP_PORT": str(http_port),
        "MLSERVER_GRPC_PORT": str(grpc_port),
        # On the host's network, ports are this machine's, not a pod's own.
        "MLSERVER_METRICS_PORT": str(metrics_port),
        "MLSERVER_HOST": "127.0.0.1",
    }
    endpoint = f"http://127.0.0.1:{http_port}"
    container = clean_engine.containers.run(
        tag,
        name=f"{NAME}-{uuid.uuid4().hex[:8]}",
        detach=True,
        network_mode="host",
        environment=env,
        mounts=[Mount(MODEL_MOUNT_PATH, str(weighted.details.local_folder), type="bind", read_only=True)],
    )
    try:
        wait_ready(container, f"{endpoint}/v2/models/weighted/ready")
        uid = process_uid(container)
        # With parallel workers MLServer writes .metrics and .envs into its working directory.
        workdir_written = container.exec_run(["touch", ".metrics"]).exit_code == 0
        response = requests.post(
            f"{endpoint}/v2/models/weighted/infer",
            json={
                "inputs": [
                    {"name": "values", "datatype": "FP32", "shape": [2, 3], "data": VALUES.ravel().tolist()},
                    {"name": "label", "datatype": "BYTES", "shape": [1], "data": ["ok"]},
                ]
            },
            timeout=10,
        )
    finally:
        container.remove(force=True)
        with contextlib.suppress(docker.errors.ImageNotFound):
            clean_engine.images.remove(tag, noprune=True)

    assert pulled.id == image_id
    assert reference.startswith(f"{repository}@sha256:") and reference in pulled.attrs["RepoDigests"]
    assert tags_in_registry == ["1"]
    assert pulled.attrs["Config"]["User"] == "1000" and uid == 1000
    assert workdir_written
    assert response.status_code == 200, response.text
    array, label = response.json()["outputs"]
    np.testing.assert_array_equal(np.asarray(array["data"], dtype=np.float32).reshape(array["shape"]), expected[0])
    assert label["data"] == [expected[1]] == ["weighted ok"]


def test_pushing_a_name_without_a_registry_is_refused_before_building() -> None:
    with pytest.raises(DeployError, match=r"'tempo-mlserver:latest'(.|\n)*no registry part(.|\n)*REGISTRY/NAME:TAG"):
        build_image("tempo-mlserver:latest", push=True)

    result = subprocess.run(
        [sys.executable, "-m", "tempo_docker", "build-image", "tempo-mlserver:latest", "--push"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 1
    assert result.stderr.startswith("Error: cannot push image 'tempo-mlserver:latest': its name has no registry part")


def test_a_push_to_an_address_where_no_registry_listens_names_the_registry(
    clean_engine: docker.DockerClient, base_image: str
) -> None:
    address = f"127.0.0.1:{free_port()}"
    tag = f"{address}/{NAME}:unreachable"

    try:
        with pytest.raises(DeployError) as raised:
            build_image(tag, base=base_image, push=True)
        built = clean_engine.images.get(tag)
    finally:
        with contextlib.suppress(docker.errors.ImageNotFound):
            clean_engine.images.remove(tag, noprune=True)

    message = str(raised.value)
    assert f"pushing image '{tag}' to the registry {address} failed" in message
    assert "connection refused" in message and f"Check that a registry listens at {address}" in message
    assert built.attrs["Config"]["User"] == "1000"
