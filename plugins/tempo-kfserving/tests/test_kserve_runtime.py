"""KFServingKubernetesRuntime against an EMULATED Kubernetes API server on loopback (no cluster can run here).

The emulation (`tempo_test_support.kube_api.EmulatedKubernetesAPI`) is a small threaded HTTP server that speaks
the REST paths the official `kubernetes` client uses for InferenceServices: server-side apply (PATCH with
`application/apply-patch+yaml` and a fieldManager), GET, DELETE, and LIST with a labelSelector. It plays KServe's
controller by reporting a `Ready` condition that is False and then True a few reads after an apply.

What it does not check: the CRD schema (test_kserve_manifest.py validates against the real one), KServe's
webhooks, RBAC and authentication, field ownership conflicts, finalizers, watches, or that namespaces exist. No
controller, pod, image or Knative service runs, so nothing here predicts over the network.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tempo_core import manifest
from tempo_core.errors import ServerNotReadyError
from tempo_kfserving import KFServingKubernetesRuntime, KFServingOptions
from tempo_kfserving.manifest import INFERENCE_SERVICE
from tempo_test_support.kube_api import EmulatedKubernetesAPI, EmulatedResource

kubernetes_client = pytest.importorskip(
    "kubernetes.client", reason="the kserve-k8s runtime needs the client: pip install 'tempo-kfserving[kubernetes]'"
)

NAMESPACE = "models"
OPTIONS = KFServingOptions(remote_options={"namespace": NAMESPACE, "serverImage": "tempo-mlserver:test"})
KSERVE = EmulatedResource(
    INFERENCE_SERVICE,
    pending_status={"conditions": [{"type": "Ready", "status": "False", "reason": "RevisionMissing"}]},
    ready_status={
        "conditions": [{"type": "Ready", "status": "True"}],
        "url": "http://classifier.models.example.com",
    },
)
CHILDREN_FIRST = ["test-iris-sklearn", "test-iris-xgboost", "classifier"]


@pytest.fixture
def api() -> Iterator[EmulatedKubernetesAPI]:
    with EmulatedKubernetesAPI([KSERVE], reads_until_ready=1) as emulated:
        yield emulated


@pytest.fixture
def classifier(iris_artifacts: str) -> Any:
    from models import get_tempo_artifacts

    pipeline, _, _ = get_tempo_artifacts(iris_artifacts)
    return pipeline


def runtime_for(api: EmulatedKubernetesAPI, **remote: Any) -> KFServingKubernetesRuntime:
    options = KFServingOptions(remote_options={**OPTIONS.remote_options.model_dump(exclude_none=True), **remote})
    configuration = kubernetes_client.Configuration(host=api.host)
    return KFServingKubernetesRuntime(options, api_client=kubernetes_client.ApiClient(configuration))


def test_deploy_wait_list_undeploy(api: EmulatedKubernetesAPI, classifier: Any) -> None:
    runtime = runtime_for(api)
    runtime.deploy(classifier)
    runtime.wait_ready(classifier)

    stored = api.objects(INFERENCE_SERVICE, NAMESPACE)
    assert [stored[name]["spec"] for name in CHILDREN_FIRST] == [
        document["spec"] for document in yaml.safe_load_all(manifest(classifier, OPTIONS))
    ]
    patches = [request for request in api.requests if request.method == "PATCH"]
    assert {request.content_type for request in patches} == {"application/apply-patch+yaml"}
    assert {item.name: item.status for item in runtime.list()} == dict.fromkeys(CHILDREN_FIRST, "Ready")
    assert runtime.endpoint(classifier) == "http://classifier-predictor.models.svc.cluster.local"
    assert runtime_for(api, ingressBaseUrl="http://gateway").endpoint(classifier) == (
        "http://gateway/serving/models/classifier"
    )

    runtime.undeploy(classifier)
    runtime.undeploy(classifier)
    assert api.objects(INFERENCE_SERVICE, NAMESPACE) == {}
    assert runtime.list() == []


def test_a_model_that_fails_to_load_stops_the_wait_with_kserve_s_message(
    api: EmulatedKubernetesAPI, classifier: Any
) -> None:
    runtime = runtime_for(api)
    runtime.deploy(classifier)
    failed = {
        "conditions": [{"type": "Ready", "status": "False", "reason": "RevisionFailed"}],
        "modelStatus": {
            "transitionStatus": "BlockedByFailedLoad",
            "lastFailureInfo": {"reason": "ModelLoadFailed", "message": "No module named 'tempo_kfserving'"},
        },
    }
    api.set_status(INFERENCE_SERVICE, NAMESPACE, "test-iris-sklearn", failed)

    with pytest.raises(ServerNotReadyError, match="BlockedByFailedLoad: No module named 'tempo_kfserving'"):
        runtime.wait_ready(classifier)


def test_a_service_still_pending_times_out_naming_its_condition(api: EmulatedKubernetesAPI, classifier: Any) -> None:
    runtime = runtime_for(api)
    runtime.deploy(classifier)
    api.set_status(INFERENCE_SERVICE, NAMESPACE, "test-iris-sklearn", KSERVE.pending_status)

    with pytest.raises(ServerNotReadyError, match="its status: Ready: RevisionMissing"):
        runtime.wait_ready(classifier, timeout=0.2)


def test_kfserving_options_pick_the_kserve_runtime_and_its_generator() -> None:
    from tempo_core.plugins import get_plugins
    from tempo_kfserving import InferenceServiceGenerator

    plugins = get_plugins()
    assert plugins.runtime_for(OPTIONS) is KFServingKubernetesRuntime
    assert plugins.runtime_named("kserve") is KFServingKubernetesRuntime, "the command line's --runtime kserve"
    assert plugins.manifest_generators.get(OPTIONS.manifest_target or "") is InferenceServiceGenerator
