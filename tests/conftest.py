"""Fixtures shared by tempo's tests."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tempo_core.plugins import reset_plugins

if TYPE_CHECKING:
    from tempo_test_support.s3 import S3Endpoint

HERE = Path(__file__).parent
# The loopback S3 endpoint (moto_server) and the rclone check.
pytest_plugins = ["tempo_test_support.s3"]


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One TEMPO_CACHE_DIR for the module, so that each environment is packed and built once, not once per test."""
    cache = tmp_path_factory.mktemp("tempo-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TEMPO_CACHE_DIR", str(cache))
        yield cache


@pytest.fixture
def bucket(s3_endpoint: S3Endpoint, rclone_available: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket, with the endpoint's credentials in the environment as a user would set them."""
    for name, value in s3_endpoint.environment().items():
        monkeypatch.setenv(name, value)
    name = f"models-{uuid.uuid4().hex[:8]}"
    s3_endpoint.create_bucket(name)
    return name


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
