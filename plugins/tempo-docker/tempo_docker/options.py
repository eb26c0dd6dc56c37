"""DockerOptions: which image serves a model, with what resources, in which namespace of the engine."""

from __future__ import annotations

import getpass
import re

from pydantic import Field, field_validator

from tempo_core.options import RuntimeOptions
from tempo_docker.labels import RESERVED_PREFIX
from tempo_docker.version import __version__

__all__ = ["DockerOptions", "DEFAULT_IMAGE", "DEFAULT_BASE", "default_namespace"]

DEFAULT_IMAGE = f"tempo-mlserver:{__version__}"
DEFAULT_BASE = "tempo-base:bookworm"

# Like a model name, but without "--", which separates the namespace from the model in container names.
_NAMESPACE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_MEMORY = re.compile(r"^[0-9]+[bkmg]?$")


def default_namespace() -> str:
    """The login name made fit for container names, so that two users of one engine do not collide."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # a uid without a passwd entry and no LOGNAME/USER
        user = ""
    return "-".join(re.findall(r"[a-z0-9]+", user.lower())) or "default"


class DockerOptions(RuntimeOptions):
    """Options of the Docker runtime: each model's server in a container of this machine's engine.

    Containers are named ``tempo-<namespace>--<model>`` and share the network ``tempo-<namespace>``
    unless `network` names another; their port is published on 127.0.0.1 only.
    """

    image: str = Field(
        default=DEFAULT_IMAGE,
        description="Serving image, built from the environment the models are saved in (tempo docker build-image).",
    )
    namespace: str = Field(
        default_factory=default_namespace,
        description="Project or user the containers belong to; defaults to the login name.",
    )
    network: str | None = Field(default=None, description="User-defined network to join; default tempo-<namespace>.")
    env: dict[str, str] = Field(default_factory=dict, description="Environment variables of the server.")
    cpus: float | None = Field(default=None, gt=0, description="CPU limit, in CPUs (1.5 = one and a half).")
    memory: str | None = Field(default=None, description="Memory limit: bytes, or with a unit, e.g. '512m', '2g'.")
    gpus: int = Field(default=0, ge=-1, description="GPUs to request (-1 = all); needs the NVIDIA container toolkit.")
    labels: dict[str, str] = Field(default_factory=dict, description="Extra labels on every container.")
    startup_timeout: float = Field(default=60.0, gt=0, description="Seconds to wait for the server to be ready.")
    detach: bool = Field(
        default=False,
        description="Keep the containers after this interpreter exits (as `tempo deploy` does); "
        "remove them with `tempo undeploy NAME --runtime docker`.",
    )
    metrics: bool = Field(
        default=True,
        description="Serve Prometheus metrics (MLServer's metrics server), published on the host like the model.",
    )

    @field_validator("namespace")
    @classmethod
    def _namespace_fits_names(cls, namespace: str) -> str:
        if not _NAMESPACE.match(namespace):
            raise ValueError(
                f"namespace {namespace!r} cannot be part of a container name; use lowercase letters and digits "
                "in groups joined by single '-', e.g. 'team-a'"
            )
        return namespace

    @field_validator("memory")
    @classmethod
    def _memory_has_a_unit_docker_knows(cls, memory: str | None) -> str | None:
        if memory is not None and not _MEMORY.match(memory.lower()):
            raise ValueError(f"memory {memory!r} is not a size; write bytes or a number with b, k, m or g, e.g. '2g'")
        return memory

    @field_validator("labels")
    @classmethod
    def _labels_leave_tempos_alone(cls, labels: dict[str, str]) -> dict[str, str]:
        reserved = sorted(key for key in labels if key.startswith(RESERVED_PREFIX))
        if reserved:
            raise ValueError(
                f"labels {reserved} start with {RESERVED_PREFIX!r}, which tempo keeps for its own labels; "
                "choose another prefix"
            )
        return labels
