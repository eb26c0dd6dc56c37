"""The local runtime's record of the servers it runs, on disk, so every process on this machine sees them.

One JSON file per server under `$TEMPO_CACHE_DIR/local-runtime/`: a notebook, a script and `tempo list`
find the same deployments, and `tempo undeploy` stops a server another process started.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel

from tempo_core.files import atomic_write_bytes
from tempo_core.processes import is_running

__all__ = ["ServerRecord", "state_dir", "write_record", "remove_record", "records", "find_record"]


class ServerRecord(BaseModel):
    """One local server: the models it serves (with their artifact folders), where, and its process."""

    owner: str
    serves: list[str]
    pid: int
    start_time: int
    endpoint: str
    grpc_endpoint: str | None = None
    metrics_endpoint: str | None = None
    workdir: str
    log_path: str
    ready_paths: list[str]
    folders: dict[str, str]
    children: list[str] = []
    # A digest of the folders and options the server was started from; a deploy of anything else replaces it.
    spec: str = ""

    def running(self) -> bool:
        """Whether the server's process is still the one that was started."""
        return is_running(self.pid, self.start_time)


def state_dir() -> Path:
    """Where the records live: `$TEMPO_STATE_DIR`, else `$TEMPO_CACHE_DIR/local-runtime` (~/.cache/tempo/...)."""
    from tempo_core.environment.cache import cache_root

    configured = os.environ.get("TEMPO_STATE_DIR")
    return Path(configured) if configured else cache_root() / "local-runtime"


def _path(owner: str) -> Path:
    return state_dir() / f"{owner}.json"


def write_record(record: ServerRecord) -> None:
    """Record a server, replacing any record of the same owner."""
    atomic_write_bytes(_path(record.owner), record.model_dump_json(indent=2).encode())


def remove_record(owner: str) -> None:
    """Forget a server."""
    _path(owner).unlink(missing_ok=True)


def records() -> Iterator[ServerRecord]:
    """Every recorded server, running or not."""
    folder = state_dir()
    if not folder.is_dir():
        return
    for path in sorted(folder.glob("*.json")):
        with contextlib.suppress(OSError, ValueError):
            yield ServerRecord.model_validate_json(path.read_bytes())


def find_record(name: str) -> ServerRecord | None:
    """The record of the server that serves `name`, if any."""
    return next((record for record in records() if name in record.serves), None)
