"""tempo-kfserving's hook implementations."""

from __future__ import annotations

from tempo_core import hookimpl
from tempo_core.registry import Register
from tempo_kfserving.cli import kserve_commands
from tempo_kfserving.manifest import InferenceServiceGenerator
from tempo_kfserving.protocol import KFServingV2Protocol
from tempo_kfserving.runtime import KFServingKubernetesRuntime


@hookimpl
def tempo_register_protocols(register: Register) -> None:
    """Register the Open Inference Protocol as `v2`, tempo's default protocol."""
    register(KFServingV2Protocol.name, KFServingV2Protocol)


@hookimpl
def tempo_register_runtimes(register: Register) -> None:
    """Register the KServe runtime as `kserve-k8s`."""
    register(KFServingKubernetesRuntime.name, KFServingKubernetesRuntime)


@hookimpl
def tempo_register_manifest_generators(register: Register) -> None:
    """Register the InferenceService generator as `kserve-inferenceservice`."""
    register("kserve-inferenceservice", InferenceServiceGenerator)


@hookimpl
def tempo_register_commands(register: Register) -> None:
    """Register `tempo kserve credentials`: the Secret and service account KServe downloads artifacts with."""
    register("kserve", kserve_commands)
