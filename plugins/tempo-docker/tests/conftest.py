"""Fixtures for tempo-docker's tests: the serving image, the test namespace, and checks that nothing is left.

The Docker engine, the debootstrap base image and the loopback registry come from the test support's fixtures
(tempo_test_support.fixtures): a real engine (the one DOCKER_HOST or /var/run/docker.sock reaches, else a dockerd
of the tests' own in `.cache/docker/`), skipped with the reason only where none can be started.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tempo_docker import DockerOptions, build_image

# The shared fixtures (engine, base image, registry) for every test module of this folder.
pytest_plugins = ["tempo_test_support.fixtures"]

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples"
TEST_IMAGE = "tempo-mlserver:test"
TEST_NAMESPACE = "tempo-test"
MANAGED = {"label": ["io.tempo.managed=true"]}


@pytest.fixture(scope="session")
def serving_image(base_image: str) -> str:
    """The serving image of this environment; rebuilt only when the environment or the base changed."""
    build_image(TEST_IMAGE, base=base_image)
    return TEST_IMAGE


@pytest.fixture
def options(serving_image: str) -> DockerOptions:
    """Options for the test namespace and the test image."""
    return DockerOptions(image=serving_image, namespace=TEST_NAMESPACE)


def _in_tests(labels: dict[str, str]) -> bool:
    return labels.get("io.tempo.namespace", "").startswith(TEST_NAMESPACE)


@pytest.fixture
def engine(docker_engine: docker.DockerClient, serving_image: str) -> Iterator[docker.DockerClient]:
    """The engine, checked after the test to hold no container or network of the test namespaces (any left is
    removed, so that one failure does not spill into the next test)."""
    yield docker_engine
    containers = [item for item in docker_engine.containers.list(all=True, filters=MANAGED) if _in_tests(item.labels)]
    networks = [item for item in docker_engine.networks.list(filters=MANAGED) if _in_tests(item.attrs["Labels"])]
    for container in containers:
        container.remove(force=True)
    for network in networks:
        network.remove()
    assert [item.name for item in containers + networks] == [], "the test left containers or networks behind"


@pytest.fixture(scope="session")
def iris_artifacts(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A folder with an sklearn LogisticRegression and an xgboost classifier trained on iris."""
    sys.path.insert(0, str(EXAMPLES / "iris"))
    from models import train

    folder = tmp_path_factory.mktemp("iris-artifacts")
    train(str(folder))
    return str(folder)
