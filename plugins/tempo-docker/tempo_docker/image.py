"""Serving images: finding one on the engine, and checking that it can run a saved model's environment."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import docker
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from tempo_core.environment.record import ENVIRONMENT_DIR, LOCK_FILE, read_record
from tempo_core.errors import DeployError, EnvironmentCaptureError
from tempo_docker.options import DEFAULT_BASE

__all__ = [
    "ServingImage",
    "find_serving_image",
    "build_hint",
    "IMAGE_PYTHON",
    "IMAGE_PYTHON_VERSION",
    "IMAGE_ENVIRONMENT",
    "IMAGE_REQUIREMENTS",
    "IMAGE_BASE",
    "IMAGE_DEPENDENCIES",
]

logger = logging.getLogger(__name__)

# Labels that `build_image` puts on the images it builds.
IMAGE_PYTHON = "io.tempo.python"
IMAGE_PYTHON_VERSION = "io.tempo.python-version"
IMAGE_ENVIRONMENT = "io.tempo.environment"
IMAGE_REQUIREMENTS = "io.tempo.requirements"
IMAGE_BASE = "io.tempo.base"
# The key of the layer holding the distributions that are not editable installs, shared by the images built on it.
IMAGE_DEPENDENCIES = "io.tempo.dependencies"
# The interpreter of images that tempo did not build.
_FALLBACK_PYTHON = "python3"
_SHOWN_DIFFERENCES = 10


def build_hint(tag: str) -> str:
    """The command that builds the serving image `tag` from this environment."""
    return f"tempo docker build-image {tag} --base {DEFAULT_BASE} (or: python -m tempo_docker build-image {tag})"


def _pins(lock_text: str) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in lock_text.split():
        name, _, version = line.partition("==")
        pins[canonicalize_name(name)] = version
    return pins


def _same_version(left: str, right: str) -> bool:
    try:
        return Version(left) == Version(right)
    except InvalidVersion:
        return left == right


@dataclass(frozen=True)
class ServingImage:
    """A local image that serves tempo models, and what its labels say about the environment inside."""

    name: str
    id: str
    python: str
    python_version: str | None
    environment: str | None
    requirements: dict[str, str] | None

    @classmethod
    def from_labels(cls, name: str, image_id: str, labels: Mapping[str, str]) -> ServingImage:
        """Read an image's tempo labels; an image tempo did not build runs `python3` and is not checked."""
        lock = labels.get(IMAGE_REQUIREMENTS)
        return cls(
            name=name,
            id=image_id,
            python=labels.get(IMAGE_PYTHON, _FALLBACK_PYTHON),
            python_version=labels.get(IMAGE_PYTHON_VERSION),
            environment=labels.get(IMAGE_ENVIRONMENT),
            requirements=_pins(lock) if lock is not None else None,
        )

    def check_runs(self, folder: Path, model_name: str) -> None:
        """Raise DeployError when the environment saved with the model in `folder` is not the image's.

        The container runs the image's interpreter, so the saved Python version and every pinned
        distribution must be there. Models saved without an environment, and images tempo did not build,
        are not checked.
        """
        try:
            record = read_record(folder)
        except EnvironmentCaptureError:
            logger.debug("%s has no saved environment; not checking it against %s", folder, self.name)
            return
        if self.requirements is None or record.content_hash == self.environment:
            return
        fix = (
            f"Build the image from the environment the model is saved in ({build_hint(self.name)}), "
            "or save the model again from the image's environment."
        )
        if record.python_version != self.python_version:
            raise DeployError(
                f"model '{model_name}' was saved with Python {record.python_version}, but image '{self.name}' runs "
                f"Python {self.python_version}. {fix}"
            )
        saved = _pins((folder / ENVIRONMENT_DIR / LOCK_FILE).read_text(encoding="utf-8"))
        differences = [
            f"{name}=={version} (image: {self.requirements.get(name, 'missing')})"
            for name, version in sorted(saved.items())
            if not _same_version(self.requirements.get(name, ""), version)
        ]
        if differences:
            shown = ", ".join(differences[:_SHOWN_DIFFERENCES])
            more = f" and {len(differences) - _SHOWN_DIFFERENCES} more" if len(differences) > _SHOWN_DIFFERENCES else ""
            raise DeployError(
                f"model '{model_name}' needs distributions that image '{self.name}' does not have: {shown}{more}. {fix}"
            )


def find_serving_image(client: docker.DockerClient, name: str) -> ServingImage:
    """The serving image `name` on the engine; the error says how to build it when it is missing."""
    try:
        image = client.images.get(name)
    except docker.errors.ImageNotFound:
        raise DeployError(
            f"Docker image '{name}' is not on the engine, and tempo pulls nothing. Build it from the environment "
            f"your models are saved in with: {build_hint(name)}"
        ) from None
    return ServingImage.from_labels(name, image.id, image.labels)
