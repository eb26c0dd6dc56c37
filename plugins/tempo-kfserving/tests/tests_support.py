"""Helpers shared by tempo-kfserving's tests."""

from __future__ import annotations

import os
from pathlib import Path


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
