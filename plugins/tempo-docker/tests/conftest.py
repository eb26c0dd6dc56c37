"""Fixtures for tempo-docker's tests: a real Docker engine, a base image from debootstrap, the serving image.

The engine is the one DOCKER_HOST or /var/run/docker.sock reaches; otherwise the session starts `dockerd` on its
own socket and data root in the clone's ignored `.cache/docker/` (so images survive between runs) and stops that
process, by PID, at the end. Tests that need an engine are skipped, with the reason, only where none can be started.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tempo_docker import DEFAULT_BASE, DockerOptions, build_base_image, build_image

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples"
ENGINE_DIR = REPO / ".cache" / "docker"
ROOTFS_TARBALL = REPO / ".cache" / "docker-base" / "bookworm-minbase.tar"
TEST_IMAGE = "tempo-mlserver:test"
TEST_NAMESPACE = "tempo-test"
MANAGED = {"label": ["io.tempo.managed=true"]}
_START_SECONDS = 60


def _client_of(host: str | None) -> docker.DockerClient | None:
    try:
        client = docker.DockerClient(base_url=host) if host else docker.from_env()
        client.ping()
    except Exception:  # any failure means: not this engine
        return None
    return client


def _log_tail(path: Path, count: int = 15) -> str:
    with open(path, errors="replace") as log:
        return "".join(deque(log, maxlen=count))


def _start_dockerd(socket: str) -> subprocess.Popen[bytes]:
    """Start dockerd on its own socket, data root and exec root, with iptables (container-to-container traffic)."""
    dockerd = shutil.which("dockerd") or "/usr/sbin/dockerd"
    if not os.path.exists(dockerd):
        pytest.skip("no Docker engine is reachable and dockerd is not installed (apt-get install docker.io)")
    if os.geteuid() != 0:
        pytest.skip("no Docker engine is reachable, and starting dockerd needs root")
    ENGINE_DIR.mkdir(parents=True, exist_ok=True)
    command = [
        dockerd,
        f"--host={socket}",
        f"--data-root={ENGINE_DIR / 'data'}",
        f"--exec-root={ENGINE_DIR / 'exec'}",
        f"--pidfile={ENGINE_DIR / 'dockerd.pid'}",
        # No default docker0 bridge: tempo's containers join user-defined networks, and another engine may own it.
        "--bridge=none",
    ]
    with open(ENGINE_DIR / "dockerd.log", "wb") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[docker.DockerClient]:
    """A client of a running Docker engine, with DOCKER_HOST pointing at it for the whole session."""
    reachable = _client_of(None) if os.environ.get("DOCKER_HOST") or Path("/var/run/docker.sock").exists() else None
    if reachable is not None:
        yield reachable
        return
    socket = f"unix://{ENGINE_DIR / 'docker.sock'}"
    # Left by a session that was killed before it could stop its dockerd: use it rather than fight over the data root.
    client = _client_of(socket)
    process = None
    if client is None:
        started = time.monotonic()
        process = _start_dockerd(socket)
        while client is None and process.poll() is None and time.monotonic() - started < _START_SECONDS:
            time.sleep(0.1)
            client = _client_of(socket)
        if client is None:
            _stop(process)
            pytest.skip(f"dockerd could not be started here; its last lines:\n{_log_tail(ENGINE_DIR / 'dockerd.log')}")
        sys.stderr.write(f"\nstarted dockerd (pid {process.pid}) in {time.monotonic() - started:.1f} s\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DOCKER_HOST", socket)
        try:
            yield client
        finally:
            client.close()
            if process is not None:
                _stop(process)


@pytest.fixture(scope="session")
def base_image(docker_engine: docker.DockerClient) -> str:
    """The debootstrap base image, imported from the rootfs tarball cached in `.cache/` (made once, ~1 minute)."""
    try:
        docker_engine.images.get(DEFAULT_BASE)
    except docker.errors.ImageNotFound:
        if not ROOTFS_TARBALL.is_file() and (os.geteuid() != 0 or shutil.which("debootstrap") is None):
            pytest.skip(f"{DEFAULT_BASE} is not on the engine, and making it needs root and debootstrap")
        build_base_image(DEFAULT_BASE, rootfs_tarball=ROOTFS_TARBALL)
    return DEFAULT_BASE


@pytest.fixture(scope="session")
def serving_image(base_image: str) -> str:
    """The serving image of this environment; rebuilt only when the environment or the base changed."""
    build_image(TEST_IMAGE, base=base_image)
    return TEST_IMAGE


@pytest.fixture
def options(serving_image: str) -> DockerOptions:
    """Options for the test namespace and the test image."""
    return DockerOptions(image=serving_image, namespace=TEST_NAMESPACE)


def _in_tests(labels: dict[str, str]) -> bool:
    return labels.get("io.tempo.namespace", "").startswith(TEST_NAMESPACE)


@pytest.fixture
def engine(docker_engine: docker.DockerClient, serving_image: str) -> Iterator[docker.DockerClient]:
    """The engine, checked after the test to hold no container or network of the test namespaces (any left is
    removed, so that one failure does not spill into the next test)."""
    yield docker_engine
    containers = [item for item in docker_engine.containers.list(all=True, filters=MANAGED) if _in_tests(item.labels)]
    networks = [item for item in docker_engine.networks.list(filters=MANAGED) if _in_tests(item.attrs["Labels"])]
    for container in containers:
        container.remove(force=True)
    for network in networks:
        network.remove()
    assert [item.name for item in containers + networks] == [], "the test left containers or networks behind"


@pytest.fixture(scope="session")
def iris_artifacts(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A folder with an sklearn LogisticRegression and an xgboost classifier trained on iris."""
    sys.path.insert(0, str(EXAMPLES / "iris"))
    from models import train

    folder = tmp_path_factory.mktemp("iris-artifacts")
    train(str(folder))
    return str(folder)
