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

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

# The kit's own asserts explain themselves only if pytest rewrites them, which needs this before the import.
pytest.register_assert_rewrite("tempo_core.testing")

from tempo_core.kubernetes.emulated_operator import KSERVE, EmulatedOperator  # noqa: E402
from tempo_core.kubernetes.testing import EmulatedKubernetesAPI  # noqa: E402
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


def test_the_iris_pipeline_with_prepackaged_children_predicts_through_the_emulated_ingress(
    iris_artifacts: str, tmp_path: Path
) -> None:
    from models import SKLearnTag, XGBoostTag, get_tempo_artifacts

    from tempo_core import deploy, save

    classifier, _, _ = get_tempo_artifacts(iris_artifacts)  # uris s3://tempo/basic/{sklearn,xgboost,pipeline}
    save(classifier)
    setosa, versicolor = np.array([[5.1, 3.5, 1.4, 0.2]]), np.array([[5.9, 3.0, 4.2, 1.5]])
    operator = EmulatedOperator(
        [KSERVE],
        buckets={
            "s3://tempo/basic": Path(iris_artifacts),
            "s3://tempo/basic/pipeline": Path(iris_artifacts) / "classifier",
        },
    )
    with EmulatedKubernetesAPI([KSERVE.emulated], operator=operator) as api, pytest.MonkeyPatch.context() as patch:
        patch.setenv("KUBECONFIG", str(api.write_kubeconfig(tmp_path / "config")))
        options = KFServingOptions(
            remote_options={
                "namespace": NAMESPACE,
                "serverImage": "tempo-mlserver:emulated",
                "ingressBaseUrl": api.host,
            }
        )
        with deploy(classifier, options) as remote:
            tags = [remote.predict(versicolor)[1], remote.predict(payload=setosa)[1]]
            predictors = {
                name: spec["spec"]["predictor"] for name, spec in api.objects(KSERVE_RESOURCE, NAMESPACE).items()
            }

    assert tags == [SKLearnTag, XGBoostTag]
    assert predictors["test-iris-sklearn"]["model"]["modelFormat"] == {"name": "sklearn"}
    assert predictors["test-iris-xgboost"]["model"]["modelFormat"] == {"name": "xgboost"}
    assert api.objects(KSERVE_RESOURCE, NAMESPACE) == {}, "leaving the `with` block undeploys every service"
