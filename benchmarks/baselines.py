"""The bare MLServer baseline the benchmarks measure tempo against: stock `mlserver start` with the `settings.json`
tempo writes for its local servers."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import requests

from tempo_core import LocalOptions
from tempo_core.processes import ServerProcess, free_port
from tempo_kfserving.settings import write_server_settings

__all__ = ["start_mlserver", "wait_ready"]

HERE = Path(__file__).parent
READY_TIMEOUT = 120.0
POLL_SECONDS = 0.05  # as tempo's local runtime polls a starting server


def wait_ready(server: ServerProcess, urls: list[str]) -> None:
    """Poll each URL until it answers 200; raise with the server's last lines if it exits or times out."""
    deadline = time.monotonic() + READY_TIMEOUT
    pending = list(urls)
    while pending:
        if server.exit_code() is not None:
            raise RuntimeError(f"the server exited while starting:\n{server.last_lines()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{pending[0]} did not answer 200 in {READY_TIMEOUT:.0f} s:\n{server.last_lines()}")
        try:
            if requests.get(pending[0], timeout=1).status_code == 200:
                pending.pop(0)
                continue
        except requests.RequestException:
            pass
        time.sleep(POLL_SECONDS)


def start_mlserver(workdir: Path, models: dict[str, dict[str, Any]]) -> tuple[ServerProcess, str]:
    """Stock `mlserver start` of `models` (name -> model settings) with the `settings.json` tempo writes for a local
    server with default options; returns the server, ready, and its base URL."""
    options = LocalOptions()
    port = free_port()
    write_server_settings(
        workdir,
        host="127.0.0.1",
        http_port=port,
        grpc_port=free_port(),
        metrics_port=free_port() if options.metrics else None,
        parallel_workers=options.parallel_workers,
    )
    for name, settings in models.items():
        (workdir / name).mkdir()
        (workdir / name / "model-settings.json").write_text(json.dumps({"name": name, **settings}))
    server = ServerProcess(
        [sys.executable, "-c", "from mlserver.cli import main; main()", "start", str(workdir)],
        workdir,
        {"PYTHONPATH": str(HERE)},
        workdir / "server.log",
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_ready(server, [f"{endpoint}/v2/models/{name}/ready" for name in models])
    except BaseException:
        server.stop()
        raise
    return server, endpoint
