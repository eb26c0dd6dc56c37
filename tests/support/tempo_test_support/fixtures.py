"""pytest fixtures for tests that run what a cluster runs: load with `pytest_plugins = ["tempo_test_support.fixtures"]`.

- `docker_engine` (session): a client of a real Docker engine (see tempo_test_support.docker_engine), with
  DOCKER_HOST set for the session when the tests started their own.
- `base_image` (session): the local debootstrap base image (tempo-docker's), made once from a cached rootfs.
- `registry` (session): a real image registry on 127.0.0.1 (tempo_test_support.registry).
- `stand_in_images` (session): the stand-ins for the stock MLServer image and the storage initializers.
- `emulated_cluster` (module): an EmulatedCluster running Seldon Core and KServe on those images, found through
  `$KUBECONFIG` as users find theirs; at its end no container of its pods is left.
- `clean_cluster`: the emulated cluster, checked after the test to leave no pod or pod folder behind.
- `cluster_storage` (module): a bucket on the loopback S3 endpoint and an rclone config for it, with RCLONE_CONFIG
  and the AWS variables set for the module, as a user who uploads there would have them.

Tests that need an engine are skipped, with the reason, only where none can be started.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import docker
import pytest

from tempo_test_support.cluster import EmulatedCluster
from tempo_test_support.docker_engine import REPO, EngineUnavailable, running_engine
from tempo_test_support.images import (
    KSERVE_STORAGE_INITIALIZER,
    SELDON_STORAGE_INITIALIZER,
    STOCK_MLSERVER,
    build_stock_mlserver,
    build_storage_initializers,
)
from tempo_test_support.operators import KServeConfig, SeldonConfig, ServingRuntime
from tempo_test_support.registry import REGISTRY_BINARY, LoopbackRegistry

if TYPE_CHECKING:
    # Imported by pytest as a plugin (below), so that its asserts are rewritten.
    from tempo_test_support.s3 import S3Endpoint

__all__ = [
    "docker_engine",
    "base_image",
    "registry",
    "stand_in_images",
    "emulated_cluster",
    "cluster_storage",
    "clean_cluster",
    "StandInImages",
    "ClusterStorage",
    "seldon_config",
    "kserve_config",
]

pytest_plugins = ["tempo_test_support.s3"]

ROOTFS_TARBALL = REPO / ".cache" / "docker-base" / "bookworm-minbase.tar"
BUCKET = "tempo"


@dataclass(frozen=True)
class StandInImages:
    """The local images that stand in for the cluster's: MLServer, and the two storage initializers."""

    mlserver: str
    seldon_storage_initializer: str
    kserve_storage_initializer: str


@dataclass(frozen=True)
class ClusterStorage:
    """The bucket models are uploaded to, and the rclone config file whose remote `s3` reaches it."""

    bucket: str
    rclone_config: Path
    endpoint: S3Endpoint


def seldon_config(images: StandInImages) -> SeldonConfig:
    """Seldon Core's configuration: every MLServer-based prepackaged server on the MLServer stand-in."""
    servers = ("SKLEARN_SERVER", "XGBOOST_SERVER", "MLFLOW_SERVER", "TEMPO_SERVER")
    return SeldonConfig(dict.fromkeys(servers, images.mlserver), images.seldon_storage_initializer)


def kserve_config(images: StandInImages) -> KServeConfig:
    """KServe's configuration: the `kserve-mlserver` ClusterServingRuntime (as KServe ships it) on the stand-in."""
    mlserver = ServingRuntime(
        name="kserve-mlserver",
        formats={"sklearn": 2, "xgboost": 2, "lightgbm": 2, "mlflow": 1},
        image=images.mlserver,
        env={
            "MLSERVER_MODEL_IMPLEMENTATION": "{{.Labels.modelClass}}",
            "MLSERVER_HTTP_PORT": "8080",
            "MLSERVER_GRPC_PORT": "9000",
        },
    )
    return KServeConfig((mlserver,), images.kserve_storage_initializer)


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[docker.DockerClient]:
    """A client of a running Docker engine, with DOCKER_HOST pointing at it for the whole session."""
    engine = running_engine()
    try:
        client, host = engine.__enter__()
    except EngineUnavailable as exc:
        pytest.skip(str(exc))
    try:
        with pytest.MonkeyPatch.context() as patch:
            if host is not None:
                patch.setenv("DOCKER_HOST", host)
            yield client
    finally:
        engine.__exit__(None, None, None)


@pytest.fixture(scope="session")
def base_image(docker_engine: docker.DockerClient) -> str:
    """The debootstrap base image, imported from the rootfs tarball cached in `.cache/` (made once, ~1 minute)."""
    from tempo_docker import DEFAULT_BASE, build_base_image

    try:
        docker_engine.images.get(DEFAULT_BASE)
    except docker.errors.ImageNotFound:
        if not ROOTFS_TARBALL.is_file() and (os.geteuid() != 0 or shutil.which("debootstrap") is None):
            pytest.skip(f"{DEFAULT_BASE} is not on the engine, and making it needs root and debootstrap")
        build_base_image(DEFAULT_BASE, rootfs_tarball=ROOTFS_TARBALL)
    return DEFAULT_BASE


@pytest.fixture(scope="session")
def registry(docker_engine: docker.DockerClient) -> Iterator[LoopbackRegistry]:
    """A real registry (Docker Distribution 2.8) on 127.0.0.1, which the engine pushes to and pulls from without TLS."""
    if shutil.which(REGISTRY_BINARY) is None:
        pytest.skip(f"{REGISTRY_BINARY} is not installed (apt-get install docker-registry)")
    with LoopbackRegistry() as started:
        yield started


@pytest.fixture(scope="session")
def stand_in_images(docker_engine: docker.DockerClient, base_image: str) -> StandInImages:
    """The stand-in images, rebuilt only when their recipe changed."""
    build_storage_initializers(docker_engine, base_image)
    build_stock_mlserver(docker_engine, base_image)
    return StandInImages(STOCK_MLSERVER, SELDON_STORAGE_INITIALIZER, KSERVE_STORAGE_INITIALIZER)


@pytest.fixture(scope="module")
def cluster_storage(s3_endpoint: S3Endpoint, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterStorage]:
    """The `tempo` bucket on the loopback S3 endpoint and an rclone config (remote `s3`) a user would write for it."""
    s3_endpoint.create_bucket(BUCKET)
    config = tmp_path_factory.mktemp("rclone") / "rclone.conf"
    config.write_text(
        "[s3]\ntype = s3\nprovider = Other\nenv_auth = false\n"
        f"access_key_id = {s3_endpoint.access_key_id}\nsecret_access_key = {s3_endpoint.secret_access_key}\n"
        f"endpoint = {s3_endpoint.endpoint_url}\nregion = {s3_endpoint.region}\n"
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RCLONE_CONFIG", str(config))
        for name, value in s3_endpoint.environment().items():
            patch.setenv(name, value)
        yield ClusterStorage(BUCKET, config, s3_endpoint)


@pytest.fixture(scope="module")
def emulated_cluster(
    docker_engine: docker.DockerClient, stand_in_images: StandInImages, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmulatedCluster]:
    """A cluster running Seldon Core and KServe, with $KUBECONFIG naming it; checked to leave no container behind."""
    cluster = EmulatedCluster(
        docker_engine, seldon=seldon_config(stand_in_images), kserve=kserve_config(stand_in_images)
    )
    with cluster, pytest.MonkeyPatch.context() as patch:
        patch.setenv("KUBECONFIG", str(cluster.write_kubeconfig(tmp_path_factory.mktemp("kube") / "config")))
        yield cluster
    left = [container.name for container in cluster.containers()]
    assert left == [], f"the emulated cluster left containers behind: {left}"


@pytest.fixture
def clean_cluster(emulated_cluster: EmulatedCluster) -> Iterator[EmulatedCluster]:
    """The emulated cluster, checked after the test to run no pod and keep no pod folder that the test made."""
    containers = {container.name for container in emulated_cluster.containers()}
    folders = set(emulated_cluster.pod_folders())
    yield emulated_cluster
    left = {container.name for container in emulated_cluster.containers()} - containers
    assert left == set(), f"undeploy left pods running: {sorted(left)}"
    assert set(emulated_cluster.pod_folders()) - folders == set(), "undeploy left pod folders behind"
