"""tempo-docker's hook implementations."""

from __future__ import annotations

from tempo_core import hookimpl
from tempo_core.registry import Register
from tempo_docker.cli import docker_commands
from tempo_docker.runtime import DockerRuntime


@hookimpl
def tempo_register_runtimes(register: Register) -> None:
    """Register the Docker runtime as `docker`, the runtime DockerOptions names."""
    register(DockerRuntime.name, DockerRuntime)


@hookimpl
def tempo_register_commands(register: Register) -> None:
    """Register `tempo docker ...`: building serving images offline."""
    register("docker", docker_commands)
