"""tempo-docker registers the `docker` runtime through its entry point, and ships the `build-image` command."""

from __future__ import annotations

import json
import subprocess
import sys

from tempo_core.api import runtime_for
from tempo_core.plugins import get_plugins
from tempo_docker import DockerOptions, DockerRuntime


def test_docker_options_select_the_docker_runtime() -> None:
    assert get_plugins().runtimes.get("docker") is DockerRuntime
    assert isinstance(runtime_for(DockerOptions(namespace="test")), DockerRuntime)


def test_tempo_plugins_shows_the_docker_runtime() -> None:
    listing = subprocess.run(
        [sys.executable, "-m", "tempo_core", "plugins", "--json"], capture_output=True, text=True, check=True
    )
    plugins = {entry["name"]: entry for entry in json.loads(listing.stdout)}

    assert plugins["docker"]["distribution"] == "tempo-docker"
    assert plugins["docker"]["registers"]["runtime"] == ["docker"]


def test_python_m_tempo_docker_offers_the_image_commands() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "tempo_docker", "--help"], capture_output=True, text=True, check=True
    ).stdout

    assert "build-image" in shown and "build-base" in shown
