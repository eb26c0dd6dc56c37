"""tempo-subprocess's hook implementations: only hookimpls live here."""

from __future__ import annotations

from tempo_core import hookimpl
from tempo_core.registry import Register
from tempo_subprocess.runtime import SubprocessRuntime


@hookimpl
def tempo_register_runtimes(register: Register) -> None:
    """Register the subprocess runtime as `subprocess`; it takes SubprocessOptions."""
    register(SubprocessRuntime.name, SubprocessRuntime)
