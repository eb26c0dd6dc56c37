"""Helpers shared by tempo-kfserving's tests."""

from __future__ import annotations

import os


def pid_alive(pid: int) -> bool:
    """Whether a process with this PID exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
