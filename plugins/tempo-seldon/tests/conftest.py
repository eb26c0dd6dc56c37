"""Fixtures for tempo-seldon's tests: the SeldonDeployment schema, trained iris models, the emulated cluster's
options."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tempo_seldon import SeldonCoreOptions
from tempo_test_support.cluster import EmulatedCluster
from tempo_test_support.images import STOCK_PYTHON_VERSION
from tempo_test_support.kubectl import kubectl_apply

if TYPE_CHECKING:
    # Only for annotations: pytest imports the fixtures module as a plugin, to rewrite its asserts.
    from tempo_test_support.fixtures import ClusterStorage, StandInImages

HERE = Path(__file__).parent
EXAMPLES = Path(__file__).parents[3] / "examples"
TEMPO = [sys.executable, "-m", "tempo_core"]  # the `tempo` command of this environment
# The namespace of the emulated cluster's models, and the storage credentials they are downloaded with.
NAMESPACE = "production"
SECRET = "minio-secret"


@pytest.fixture(scope="session")
def seldon_schema() -> dict[str, Any]:
    """The SeldonDeployment v1 `openAPIV3Schema` of Seldon Core v1.17.1, loaded once (see specs/README.md)."""
    schema: dict[str, Any] = json.loads((HERE / "specs" / "seldondeployment.schema.json").read_text())
    return schema


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
) -> SeldonCoreOptions:
    """The seed's options, with the Secret applied as its user would (`tempo seldon secret ... | kubectl apply -f -`).

    Beside the seed's namespace and Secret, they say what this cluster runs: its MLServer image (the stand-in,
    CPython 3.11) and where its ingress is.
    """
    config = str(cluster_storage.rclone_config)
    secret = subprocess.run(
        [*TEMPO, "seldon", "secret", SECRET, "--namespace", NAMESPACE, "--rclone-config", config],
        capture_output=True,
        text=True,
        check=True,
    )
    assert kubectl_apply(secret.stdout) == [f"Secret/{SECRET}"]
    return SeldonCoreOptions(
        remote_options={
            "namespace": NAMESPACE,
            "authSecretName": SECRET,
            "mlserverImage": stand_in_images.mlserver,
            "serverPythonVersion": STOCK_PYTHON_VERSION,
            "ingressBaseUrl": emulated_cluster.ingress_url,
            "readyTimeout": 300,
        }
    )
