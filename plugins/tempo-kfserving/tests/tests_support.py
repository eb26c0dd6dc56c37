"""Helpers shared by tempo-kfserving's tests."""

from __future__ import annotations

import os
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families


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
