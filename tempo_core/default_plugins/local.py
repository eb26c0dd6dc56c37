"""The core's embedded local runtime, registered like any plugin's."""

from __future__ import annotations

from tempo_core.hookspecs import hookimpl
from tempo_core.local_runtime import LocalRuntime
from tempo_core.registry import Register


@hookimpl
def tempo_register_runtimes(register: Register) -> None:
    """Register the local runtime under the name `local`."""
    register(LocalRuntime.name, LocalRuntime)
