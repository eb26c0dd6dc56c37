"""The kserve-k8s runtime passes tempo's conformance kit against an EMULATED KServe on loopback (no cluster here).

What is emulated (tempo_core.kubernetes.testing and tempo_core.kubernetes.emulated_operator): the Kubernetes API
server, KServe's controller and storage initializer, and its ingress. Each applied InferenceService gets a real
MLServer process on 127.0.0.1 started from the manifest's container env (or MLServer's own runtime for a
prepackaged model), with the artifact copied from a local folder standing in for the `s3://` bucket; its `Ready`
condition follows that server, and `<ingressBaseUrl>/serving/<namespace>/<name>/...` is proxied to it.

Not checked: the CRD schema, admission webhooks, the server image (every server runs in this interpreter's
environment), pods, RBAC, credentials, real networking and DNS, or KServe's own behaviour (Knative, rollouts).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import yaml

# The kit's own asserts explain themselves only if pytest rewrites them, which needs this before the import.
pytest.register_assert_rewrite("tempo_core.testing")

from tempo_core import deploy, save  # noqa: E402
from tempo_core.kubernetes.emulated_operator import KSERVE, EmulatedOperator  # noqa: E402
from tempo_core.kubernetes.testing import EmulatedKubernetesAPI  # noqa: E402
from tempo_core.remote import RemoteModel  # noqa: E402
from tempo_core.testing import ConformanceModels, RuntimeConformance, build_conformance_models  # noqa: E402
from tempo_kfserving import KFServingOptions  # noqa: E402

pytest.importorskip(
    "kubernetes.client", reason="the kserve-k8s runtime needs the client: pip install 'tempo-kfserving[kubernetes]'"
)

# In the test module rather than conftest.py: this folder's conftest is not the top-level one in every run.
pytest_plugins = ["tempo_core.testing"]
pytestmark = pytest.mark.server

KSERVE_RESOURCE = KSERVE.emulated.resource
BUCKET = "s3://conformance-models"
NAMESPACE = "models"


@pytest.fixture(scope="module")
def bucket(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The local folder that stands in for the object storage bucket the models are uploaded to."""
    return tmp_path_factory.mktemp("bucket")


@pytest.fixture(scope="module")
def emulated_kserve(bucket: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedKubernetesAPI]:
    """The emulated cluster, found as users find theirs: through the kubeconfig `$KUBECONFIG` names."""
    operator = EmulatedOperator([KSERVE], buckets={BUCKET: bucket})
    with EmulatedKubernetesAPI([KSERVE.emulated], operator=operator) as api, pytest.MonkeyPatch.context() as patch:
        patch.setenv("KUBECONFIG", str(api.write_kubeconfig(tmp_path_factory.mktemp("kube") / "config")))
        yield api


@pytest.fixture(scope="module")
def tempo_conformance_models(bucket: Path) -> ConformanceModels:
    """The kit's models, with bucket URIs as a cluster needs them (the bucket is a local folder here)."""
    return build_conformance_models(bucket, uri_for=lambda name: f"{BUCKET}/{name}")


class TestKServeRuntime(RuntimeConformance):
    @pytest.fixture
    def tempo_runtime_options(self, emulated_kserve: EmulatedKubernetesAPI) -> KFServingOptions:
        return KFServingOptions(
            remote_options={
                "namespace": NAMESPACE,
                "serverImage": "tempo-mlserver:emulated",
                "ingressBaseUrl": emulated_kserve.host,
                "readyTimeout": 60,
            }
        )


IRIS_OPTIONS = {"namespace": NAMESPACE, "serverImage": "tempo-mlserver:emulated"}
VERSICOLOR = [[5.9, 3.0, 4.2, 1.5]]


@pytest.fixture
def iris_on_kserve(iris_artifacts: str, tmp_path: Path) -> Iterator[tuple[EmulatedKubernetesAPI, RemoteModel]]:
    """The iris pipeline deployed on the emulated KServe, with $KUBECONFIG naming the emulated cluster."""
    from models import get_tempo_artifacts

    classifier, _, _ = get_tempo_artifacts(iris_artifacts)  # uris s3://tempo/basic/{sklearn,xgboost,pipeline}
    save(classifier)
    operator = EmulatedOperator(
        [KSERVE],
        buckets={
            "s3://tempo/basic": Path(iris_artifacts),
            "s3://tempo/basic/pipeline": Path(iris_artifacts) / "classifier",
        },
    )
    with EmulatedKubernetesAPI([KSERVE.emulated], operator=operator) as api, pytest.MonkeyPatch.context() as patch:
        patch.setenv("KUBECONFIG", str(api.write_kubeconfig(tmp_path / "config")))
        options = KFServingOptions(remote_options={**IRIS_OPTIONS, "ingressBaseUrl": api.host})
        with deploy(classifier, options) as remote:
            yield api, remote
    assert api.objects(KSERVE_RESOURCE, NAMESPACE) == {}, "leaving the `with` block undeploys every service"


def test_the_iris_pipeline_with_prepackaged_children_predicts_through_the_emulated_ingress(
    iris_on_kserve: tuple[EmulatedKubernetesAPI, RemoteModel],
) -> None:
    from models import SKLearnTag, XGBoostTag

    api, remote = iris_on_kserve
    setosa, versicolor = np.array([[5.1, 3.5, 1.4, 0.2]]), np.array(VERSICOLOR)
    tags = [remote.predict(versicolor)[1], remote.predict(payload=setosa)[1]]
    predictors = {name: spec["spec"]["predictor"] for name, spec in api.objects(KSERVE_RESOURCE, NAMESPACE).items()}

    assert tags == [SKLearnTag, XGBoostTag]
    assert predictors["test-iris-sklearn"]["model"]["modelFormat"] == {"name": "sklearn"}
    assert predictors["test-iris-xgboost"]["model"]["modelFormat"] == {"name": "xgboost"}


def test_tempo_predict_calls_a_cluster_model_named_by_its_code(
    iris_on_kserve: tuple[EmulatedKubernetesAPI, RemoteModel], iris_artifacts: str, tmp_path: Path
) -> None:
    import models
    from models import SKLearnTag

    api, _ = iris_on_kserve
    (tmp_path / "cluster_models.py").write_text(
        f"import sys\nsys.path.insert(0, {str(Path(models.__file__).parent)!r})\n"
        f"from models import get_tempo_artifacts\n\nclassifier, _, _ = get_tempo_artifacts({iris_artifacts!r})\n"
    )
    options_file = tmp_path / "kserve.yaml"
    options_file.write_text(yaml.safe_dump({"remote_options": {**IRIS_OPTIONS, "ingressBaseUrl": api.host}}))
    kserve = ("--runtime", "kserve", "--options", str(options_file), "--data", json.dumps(VERSICOLOR))

    def tempo(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "tempo_core", *args], cwd=tmp_path, capture_output=True, text=True)

    by_code = tempo("predict", "cluster_models.py:classifier", *kserve)
    by_name = tempo("predict", "classifier", *kserve)

    assert by_code.returncode == 0, by_code.stderr
    assert json.loads(by_code.stdout) == [[[1]], SKLearnTag]
    assert by_name.returncode == 1
    assert "does not know where model 'classifier' is saved on this machine" in by_name.stderr
    assert "tempo predict MODULE:OBJECT" in by_name.stderr
