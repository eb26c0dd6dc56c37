"""tempo-seldon's hook implementations."""

from __future__ import annotations

from tempo_core import hookimpl
from tempo_core.registry import Register
from tempo_seldon.cli import seldon_commands
from tempo_seldon.manifest import SeldonDeploymentGenerator
from tempo_seldon.protocol import SeldonProtocol
from tempo_seldon.runtime import SeldonKubernetesRuntime


@hookimpl
def tempo_register_protocols(register: Register) -> None:
    """Register the Seldon Core v1 protocol as `seldon`."""
    register(SeldonProtocol.name, SeldonProtocol)


@hookimpl
def tempo_register_runtimes(register: Register) -> None:
    """Register the Seldon Core runtime as `seldon-k8s`."""
    register(SeldonKubernetesRuntime.name, SeldonKubernetesRuntime)


@hookimpl
def tempo_register_manifest_generators(register: Register) -> None:
    """Register the SeldonDeployment generator as `seldon-deployment`."""
    register("seldon-deployment", SeldonDeploymentGenerator)


@hookimpl
def tempo_register_commands(register: Register) -> None:
    """Register `tempo seldon secret`: the Secret Seldon Core downloads artifacts with."""
    register("seldon", seldon_commands)
