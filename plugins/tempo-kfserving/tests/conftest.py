"""Fixtures for tempo-kfserving's tests: trained iris artifacts, and the options of the emulated cluster's KServe."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tempo_kfserving import KFServingOptions
from tempo_test_support.cluster import EmulatedCluster
from tempo_test_support.images import STOCK_PYTHON_VERSION
from tempo_test_support.kubectl import kubectl_apply

if TYPE_CHECKING:
    # Only for annotations: pytest imports the fixtures module as a plugin, to rewrite its asserts.
    from tempo_test_support.fixtures import ClusterStorage, StandInImages

EXAMPLES = Path(__file__).parents[3] / "examples"
TEMPO = [sys.executable, "-m", "tempo_core"]  # the `tempo` command of this environment
# The namespace of the emulated cluster's models, and the storage credentials they are downloaded with.
NAMESPACE = "production"
ACCOUNT = "minio-reader"


@pytest.fixture(scope="session", autouse=True)
def own_local_deployments(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep this run's local-runtime records apart from other tempo processes on the machine."""
    patch = pytest.MonkeyPatch()
    patch.setenv("TEMPO_STATE_DIR", str(tmp_path_factory.mktemp("local-runtime")))
    yield
    patch.undo()


@pytest.fixture(scope="session")
def iris_artifacts(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A folder with an sklearn LogisticRegression and an xgboost classifier trained on iris."""
    sys.path.insert(0, str(EXAMPLES / "iris"))
    from models import train

    folder = tmp_path_factory.mktemp("iris-artifacts")
    train(str(folder))
    return str(folder)


@pytest.fixture(scope="module")
def cluster_options(
    emulated_cluster: EmulatedCluster, cluster_storage: ClusterStorage, stand_in_images: StandInImages
) -> KFServingOptions:
    """The seed's namespace, with the storage credentials applied as a user would (`tempo kserve credentials ... |
    kubectl apply -f -`), and what this cluster runs: its MLServer image (the stand-in, CPython 3.11) and its ingress.
    """
    config = str(cluster_storage.rclone_config)
    credentials = subprocess.run(
        [*TEMPO, "kserve", "credentials", ACCOUNT, "--namespace", NAMESPACE, "--rclone-config", config],
        capture_output=True,
        text=True,
        check=True,
    )
    assert kubectl_apply(credentials.stdout) == [f"Secret/{ACCOUNT}", f"ServiceAccount/{ACCOUNT}"]
    return KFServingOptions(
        remote_options={
            "namespace": NAMESPACE,
            "serviceAccountName": ACCOUNT,
            "mlserverImage": stand_in_images.mlserver,
            "serverPythonVersion": STOCK_PYTHON_VERSION,
            "ingressBaseUrl": emulated_cluster.ingress_url,
            "readyTimeout": 300,
        }
    )
