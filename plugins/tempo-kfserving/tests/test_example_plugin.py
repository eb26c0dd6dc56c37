"""The docs' third-party runtime, installed for real, passes tempo's conformance kit as its author runs it."""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tempo_core.plugins import get_plugins, reset_plugins

pytestmark = pytest.mark.server

DISTRIBUTION = Path(__file__).parents[3] / "docs" / "example-plugin" / "tempo-subprocess"
# The suite starts eight servers, one of which fails on purpose: about 40 s on this machine.
SUITE_TIMEOUT_SECONDS = 300


@pytest.fixture(scope="session")
def subprocess_plugin_installed(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Install docs/example-plugin/tempo-subprocess with pip, once, from a copy so no build files land in docs/."""
    try:
        return importlib.metadata.version("tempo-subprocess")
    except importlib.metadata.PackageNotFoundError:
        source = tmp_path_factory.mktemp("example-plugin") / DISTRIBUTION.name
        shutil.copytree(DISTRIBUTION, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", str(source)], check=True)
        importlib.invalidate_caches()
        reset_plugins()
        return importlib.metadata.version("tempo-subprocess")


def test_the_example_runtime_is_found_through_its_entry_point(subprocess_plugin_installed: str) -> None:
    from tempo_subprocess import SubprocessOptions, SubprocessRuntime

    registration = next(entry for entry in get_plugins().runtimes if entry.name == "subprocess")

    assert registration.obj is SubprocessRuntime
    assert registration.plugin == "subprocess"
    assert SubprocessRuntime.options_class is SubprocessOptions


def test_the_example_runtime_passes_the_conformance_kit(subprocess_plugin_installed: str) -> None:
    suite = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=DISTRIBUTION,
        capture_output=True,
        text=True,
        timeout=SUITE_TIMEOUT_SECONDS,
    )

    assert suite.returncode == 0, suite.stdout + suite.stderr
    assert "passed" in suite.stdout and "skipped" not in suite.stdout, suite.stdout
