"""`tempo` commands against the Docker runtime, run as a user runs them, on a real engine."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import docker
import numpy as np
import pytest
import yaml

from tempo_core import deploy_local, save
from tempo_docker import DockerOptions

pytestmark = pytest.mark.docker


def tempo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tempo_core", *args], capture_output=True, text=True)


def test_predict_and_list_a_model_in_a_container_by_its_name(
    iris_artifacts: str, engine: docker.DockerClient, options: DockerOptions, tmp_path: Path
) -> None:
    from models import get_tempo_artifacts

    _, sklearn_model, _ = get_tempo_artifacts(iris_artifacts)
    save(sklearn_model)  # tempo.json: the signature `tempo predict NAME` reads
    options_file = tmp_path / "docker.yaml"
    options_file.write_text(yaml.safe_dump({"image": options.image, "namespace": options.namespace}))
    docker_args = ("--runtime", "docker", "--options", str(options_file))

    with deploy_local(sklearn_model, options):
        predicted = tempo("predict", "test-iris-sklearn", "--data", "[[5.9, 2.8, 4.1, 1.3]]", *docker_args)
        listed = tempo("list", "--json", *docker_args)
    gone = tempo("predict", "test-iris-sklearn", "--data", "[[5.9, 2.8, 4.1, 1.3]]", *docker_args)

    assert predicted.returncode == 0, predicted.stderr
    assert json.loads(predicted.stdout) == np.asarray(sklearn_model(np.array([[5.9, 2.8, 4.1, 1.3]]))).tolist()
    assert [(entry["name"], entry["status"], entry["folder"]) for entry in json.loads(listed.stdout)] == [
        ("test-iris-sklearn", "running", sklearn_model.details.local_folder)
    ]
    assert gone.returncode == 1
    assert "model 'test-iris-sklearn' is not deployed on the docker runtime" in gone.stderr
