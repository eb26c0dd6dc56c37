"""Fixtures shared by tempo's tests."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tempo_core.plugins import reset_plugins

HERE = Path(__file__).parent
# The loopback S3 endpoint (moto_server) and the rclone check.
pytest_plugins = ["tempo_test_support.s3"]


@pytest.fixture
def fresh_plugins() -> Iterator[None]:
    """Find plugins again before and after the test, so environment changes take effect and do not leak."""
    reset_plugins()
    yield
    reset_plugins()


@pytest.fixture(scope="session")
def hello_plugin_installed() -> str:
    """Install the throwaway third-party plugin distribution tests/plugins/tempo-hello, for real, once."""
    try:
        return importlib.metadata.version("tempo-hello")
    except importlib.metadata.PackageNotFoundError:
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--no-deps", str(HERE / "plugins" / "tempo-hello")],
            check=True,
        )
        importlib.invalidate_caches()
        reset_plugins()
        return importlib.metadata.version("tempo-hello")
