"""Running the installers and interpreters that build environments, with errors that say what failed."""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Sequence

from tempo_core.errors import EnvironmentCaptureError

_OUTPUT_TAIL = 3000


def run_tool(command: Sequence[str], *, action: str, fix: str, env: dict[str, str] | None = None) -> str:
    """Run `command` and return its stdout; when it fails, raise naming the `action`, its output and the `fix`."""
    try:
        result = subprocess.run(list(command), capture_output=True, text=True, env=env, check=False)
    except OSError as error:
        raise EnvironmentCaptureError(f"{action} failed: cannot run {command[0]} ({error}). {fix}") from error
    if result.returncode != 0:
        output = (result.stderr or result.stdout).strip()[-_OUTPUT_TAIL:]
        raise EnvironmentCaptureError(
            f"{action} failed: `{shlex.join(command)}` exited with {result.returncode}:\n{output}\n{fix}"
        )
    return result.stdout


def offline_pip_env() -> dict[str, str]:
    """The environment for a pip that must see only the wheels it is given: no pip configuration at all.

    pip's configuration files and ``PIP_*`` variables may add indexes, find-links or constraints.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env
