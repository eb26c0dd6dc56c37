"""Helpers shared by tempo-kfserving's tests."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import requests
from prometheus_client.parser import text_string_to_metric_families

from tempo_core.processes import ServerProcess, free_port
from tempo_kfserving.settings import write_server_settings
from tempo_test_support.servers import wait_until_ready


def pid_alive(pid: int) -> bool:
    """Whether a process with this PID exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def saved_folder(root: Path, name: str) -> str:
    """A new folder for a model's artifact whose requirements.txt (numpy) keeps its saved environment small."""
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "requirements.txt").write_text("numpy\n")
    return str(folder)


def samples(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample a Prometheus metrics endpoint serves, by name and sorted labels."""
    text = requests.get(url, timeout=5).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def start_stock_mlserver(workdir: Path, name: str, settings: dict[str, Any]) -> tuple[ServerProcess, str]:
    """Stock `mlserver start` (none of tempo's launcher) of one model with `settings`, with the server settings tempo
    writes; returns the server, ready, and its base URL."""
    port = free_port()
    write_server_settings(
        workdir, host="127.0.0.1", http_port=port, grpc_port=free_port(), metrics_port=free_port(), parallel_workers=0
    )
    (workdir / name).mkdir()
    (workdir / name / "model-settings.json").write_text(json.dumps({"name": name, **settings}))
    argv = [sys.executable, "-c", "from mlserver.cli import main; main()", "start", str(workdir)]
    server = ServerProcess(argv, workdir, {}, workdir / "server.log")
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(f"{endpoint}/v2/models/{name}/ready", server)
    except BaseException:
        server.stop()
        raise
    return server, endpoint
