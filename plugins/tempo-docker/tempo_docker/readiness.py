"""Waiting for a containerised server: its ready endpoints answer, its container exits, or time runs out."""

from __future__ import annotations

import time
from collections.abc import Sequence

import docker
import requests
from docker.models.containers import Container

from tempo_core.errors import ServerNotReadyError
from tempo_core.processes import log_excerpt
from tempo_docker.container import published_endpoint

__all__ = ["wait_for_server", "last_lines"]

_POLL_SECONDS = 0.1
_LOG_LINES = 20
# How much of the log is read to find the cause of a failed start: a start-up log is far shorter.
_SCANNED_LINES = 2000


def last_lines(container: Container, count: int = _LOG_LINES) -> str:
    """The last lines the container's server wrote, led by its first traceback, for error messages."""
    try:
        return log_excerpt(container.logs(tail=_SCANNED_LINES).decode(errors="replace"), count)
    except docker.errors.APIError:
        return ""


def wait_for_server(
    container: Container,
    model_name: str,
    ready_paths: Sequence[str],
    *,
    deadline: float,
    timeout: float,
) -> None:
    """Poll each of `ready_paths` on the container's published port until all answer 200.

    Raise ServerNotReadyError with the container's last lines if it stops first or the monotonic `deadline`
    passes (`timeout` is the startup timeout the deadline came from, for the message).
    """
    pending = list(ready_paths)
    with requests.Session() as session:
        while pending:
            endpoint = published_endpoint(container)
            try:
                if endpoint is not None and session.get(endpoint + pending[0], timeout=1.0).status_code == 200:
                    pending.pop(0)
                    continue
            except requests.RequestException:
                pass
            container.reload()
            if container.status not in ("created", "running"):
                code = container.attrs["State"]["ExitCode"]
                raise ServerNotReadyError(
                    f"the server of model '{model_name}' in container '{container.name}' exited with code {code} "
                    f"while starting. Its last lines:\n{last_lines(container)}"
                )
            if time.monotonic() > deadline:
                raise ServerNotReadyError(
                    f"model '{model_name}' in container '{container.name}' was not ready at {endpoint}{pending[0]} "
                    f"within its startup timeout of {timeout:.0f} s; raise DockerOptions(startup_timeout=...) if it "
                    f"loads slowly. Its last lines:\n{last_lines(container)}"
                )
            time.sleep(_POLL_SECONDS)
