"""A serving image runs a saved model only if it has the model's environment; the refusal names what differs."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from tempo_core import model, save
from tempo_core.errors import DeployError
from tempo_docker.image import (
    IMAGE_ENVIRONMENT,
    IMAGE_PYTHON,
    IMAGE_PYTHON_VERSION,
    IMAGE_REQUIREMENTS,
    ServingImage,
)

PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


@pytest.fixture(scope="module")
def saved_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("doubler")

    @model(name="doubler", local_folder=str(folder))
    def doubler(values: np.ndarray) -> np.ndarray:
        return values * 2

    save(doubler)
    return folder


def image_with(lock: str, python: str = PYTHON) -> ServingImage:
    labels = {
        IMAGE_PYTHON: "/opt/tempo/venv/bin/python",
        IMAGE_PYTHON_VERSION: python,
        IMAGE_ENVIRONMENT: "built-from-another-state",
        IMAGE_REQUIREMENTS: lock,
    }
    return ServingImage.from_labels("tempo-mlserver:x", "sha256:x", labels)


def saved_lock(folder: Path) -> str:
    return (folder / "environment" / "requirements.lock").read_text()


def test_an_image_with_every_saved_pin_runs_the_model_and_names_its_python(saved_folder: Path) -> None:
    image = image_with(saved_lock(saved_folder) + "extra-tool==1.0\n")

    image.check_runs(saved_folder, "doubler")

    assert image.python == "/opt/tempo/venv/bin/python"


def test_an_image_missing_a_pin_or_with_another_version_is_refused_naming_them(saved_folder: Path) -> None:
    lines = saved_lock(saved_folder).split()
    numpy_pin = next(line for line in lines if line.startswith("numpy=="))
    cloudpickle_pin = next(line for line in lines if line.startswith("cloudpickle=="))
    changed = [line for line in lines if line != numpy_pin and line != cloudpickle_pin] + ["cloudpickle==0.1"]

    with pytest.raises(DeployError) as refused:
        image_with("\n".join(changed)).check_runs(saved_folder, "doubler")

    message = str(refused.value)
    assert f"{numpy_pin} (image: missing)" in message
    assert f"{cloudpickle_pin} (image: 0.1)" in message
    assert "tempo docker build-image tempo-mlserver:x" in message


def test_an_image_of_another_python_is_refused(saved_folder: Path) -> None:
    with pytest.raises(DeployError, match=rf"saved with Python {PYTHON}, but image 'tempo-mlserver:x' runs Python 3.9"):
        image_with(saved_lock(saved_folder), python="3.9").check_runs(saved_folder, "doubler")


def test_an_image_tempo_did_not_build_runs_python3_unchecked(saved_folder: Path) -> None:
    image = ServingImage.from_labels("python:3.11-slim", "sha256:y", {})

    image.check_runs(saved_folder, "doubler")

    assert image.python == "python3" and image.requirements is None
