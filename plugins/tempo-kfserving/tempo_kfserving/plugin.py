"""tempo-kfserving's hook implementations."""

from __future__ import annotations

from tempo_core import hookimpl
from tempo_core.registry import Register
from tempo_kfserving.protocol import KFServingV2Protocol


@hookimpl
def tempo_register_protocols(register: Register) -> None:
    """Register the Open Inference Protocol as `v2`, tempo's default protocol."""
    register(KFServingV2Protocol.name, KFServingV2Protocol)
