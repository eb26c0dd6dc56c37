"""Serving images built offline from this environment: reused while the environment is the same, and errors that
say how to get a missing base."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest

from tempo_core.errors import DeployError
from tempo_docker import build_image, labels
from tempo_docker.image import IMAGE_ENVIRONMENT

pytestmark = pytest.mark.docker

PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


def test_the_serving_image_runs_this_python_with_this_trees_tempo_and_mlserver_without_network(
    docker_engine: docker.DockerClient, serving_image: str
) -> None:
    probe = (
        "import hashlib, sys, mlserver, tempo_docker.labels as labels; "
        "print('%d.%d' % sys.version_info[:2], mlserver.__version__, "
        "hashlib.sha256(open(labels.__file__, 'rb').read()).hexdigest())"
    )

    output = docker_engine.containers.run(serving_image, ["python", "-c", probe], network_mode="none", remove=True)

    version, mlserver_version, source_digest = output.decode().split()
    assert version == PYTHON
    assert mlserver_version.startswith("1.7.")
    # Editable installs go in as they are now, not as they were when the dependency layer was cached.
    assert source_digest == hashlib.sha256(Path(labels.__file__).read_bytes()).hexdigest()


def test_building_again_from_the_same_environment_keeps_the_image(
    docker_engine: docker.DockerClient, serving_image: str, base_image: str
) -> None:
    before = docker_engine.images.get(serving_image)
    started = time.monotonic()

    again = build_image(serving_image, base=base_image)

    after = docker_engine.images.get(serving_image)
    if after.labels[IMAGE_ENVIRONMENT] != before.labels[IMAGE_ENVIRONMENT]:
        # An editable install (a working tree being edited) changed since the fixture built the image.
        assert again != before.id
        return
    assert again == before.id
    assert time.monotonic() - started < 30


def test_a_missing_base_image_says_how_to_make_one(docker_engine: docker.DockerClient) -> None:
    with pytest.raises(DeployError, match=r"base image 'tempo-base:missing' is not on the engine(.|\n)*build-base"):
        build_image("tempo-mlserver:never", base="tempo-base:missing")


def test_the_command_line_reports_a_missing_base_in_one_line(docker_engine: docker.DockerClient) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tempo_docker", "build-image", "tempo-mlserver:never", "--base", "tempo-base:missing"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 1
    assert result.stderr.startswith("Error: base image 'tempo-base:missing' is not on the engine")
