"""The seldon-k8s runtime passes tempo's conformance kit against an EMULATED Seldon Core on loopback (no cluster).

What is emulated (tempo_core.kubernetes.testing and tempo_core.kubernetes.emulated_operator): the Kubernetes API
server, Seldon Core's operator and storage initializer, and its ingress. Each applied SeldonDeployment gets a real
MLServer process on 127.0.0.1 started from the env of the model's container (or MLServer's own runtime for a
prepackaged server), with the artifact copied from a local folder standing in for the `s3://` bucket; its
`status.state` follows that server, and `<ingressBaseUrl>/seldon/<namespace>/<name>/...` is proxied to it.

Not checked: the CRD schema, admission webhooks, images (every server runs in this interpreter's environment),
pods, RBAC, credentials, real networking and DNS, or Seldon Core's own behaviour (the executor, Istio, rollouts).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

# The kit's own asserts explain themselves only if pytest rewrites them, which needs this before the import.
pytest.register_assert_rewrite("tempo_core.testing")

from tempo_core.kubernetes.emulated_operator import SELDON, EmulatedOperator  # noqa: E402
from tempo_core.kubernetes.testing import EmulatedKubernetesAPI  # noqa: E402
from tempo_core.testing import ConformanceModels, RuntimeConformance, build_conformance_models  # noqa: E402
from tempo_seldon import SeldonCoreOptions  # noqa: E402

# In the test module rather than conftest.py: this folder's conftest is not the top-level one in every run.
pytest_plugins = ["tempo_core.testing"]
pytestmark = pytest.mark.server

BUCKET = "s3://conformance-models"
NAMESPACE = "production"


@pytest.fixture(scope="module")
def bucket(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The local folder that stands in for the object storage bucket the models are uploaded to."""
    return tmp_path_factory.mktemp("bucket")


@pytest.fixture(scope="module")
def emulated_seldon(bucket: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedKubernetesAPI]:
    """The emulated cluster, found as users find theirs: through the kubeconfig `$KUBECONFIG` names."""
    operator = EmulatedOperator([SELDON], buckets={BUCKET: bucket})
    with EmulatedKubernetesAPI([SELDON.emulated], operator=operator) as api, pytest.MonkeyPatch.context() as patch:
        patch.setenv("KUBECONFIG", str(api.write_kubeconfig(tmp_path_factory.mktemp("kube") / "config")))
        yield api


@pytest.fixture(scope="module")
def tempo_conformance_models(bucket: Path) -> ConformanceModels:
    """The kit's models, with bucket URIs as a cluster needs them (the bucket is a local folder here)."""
    return build_conformance_models(bucket, uri_for=lambda name: f"{BUCKET}/{name}")


class TestSeldonRuntime(RuntimeConformance):
    @pytest.fixture
    def tempo_runtime_options(self, emulated_seldon: EmulatedKubernetesAPI) -> SeldonCoreOptions:
        return SeldonCoreOptions(
            remote_options={"namespace": NAMESPACE, "ingressBaseUrl": emulated_seldon.host, "readyTimeout": 60}
        )
