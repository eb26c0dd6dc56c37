"""SeldonKubernetesRuntime against an EMULATED Kubernetes API server on loopback (no cluster can run here).

The emulation (`tempo_test_support.kube_api.EmulatedKubernetesAPI`) is a small threaded HTTP server that speaks
the REST paths the official `kubernetes` client uses for SeldonDeployments: server-side apply (PATCH with
`application/apply-patch+yaml` and a fieldManager), GET, DELETE, and LIST with a labelSelector. It plays Seldon
Core's operator by reporting `status.state: Creating` and then `Available` a few reads after an apply.

What it does not check: the CRD schema (test_seldon_manifest.py validates against the real one), admission
webhooks, RBAC and authentication, field ownership conflicts, finalizers, watches, or that namespaces exist. No
operator, pod, image or service runs, so nothing here predicts over the network.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.client import ApiClient, Configuration

from tempo_core import deploy, manifest, save
from tempo_core.errors import DeployError, ServerNotReadyError, UnknownPluginObjectError
from tempo_core.plugins import reset_plugins
from tempo_seldon import SeldonCoreOptions, SeldonKubernetesRuntime
from tempo_seldon.manifest import SELDON_DEPLOYMENT
from tempo_test_support.kube_api import EmulatedKubernetesAPI, EmulatedResource

NAMESPACE = "production"
# An image that holds the models' environment: these tests apply manifests and build no environment.tar.gz.
OPTIONS = SeldonCoreOptions(
    remote_options={
        "namespace": NAMESPACE,
        "authSecretName": "minio-secret",
        "readyTimeout": 5,
        "serverImage": "tempo-mlserver:test",
    }
)
SELDON = EmulatedResource(SELDON_DEPLOYMENT, pending_status={"state": "Creating"}, ready_status={"state": "Available"})
CHILDREN_FIRST = ["test-iris-sklearn", "test-iris-xgboost", "classifier"]


@pytest.fixture
def api() -> Iterator[EmulatedKubernetesAPI]:
    with EmulatedKubernetesAPI([SELDON], reads_until_ready=2) as emulated:
        yield emulated


def runtime_for(api: EmulatedKubernetesAPI, options: SeldonCoreOptions = OPTIONS) -> SeldonKubernetesRuntime:
    return SeldonKubernetesRuntime(options, api_client=ApiClient(Configuration(host=api.host)))


@pytest.fixture
def classifier(iris_artifacts: str) -> Any:
    from models import get_tempo_artifacts

    pipeline, _, _ = get_tempo_artifacts(iris_artifacts)
    return pipeline


def applied(api: EmulatedKubernetesAPI) -> list[Any]:
    return [request for request in api.requests if request.method == "PATCH"]


def test_deploy_server_side_applies_each_document_of_the_manifest_children_first(
    api: EmulatedKubernetesAPI, classifier: Any
) -> None:
    runtime_for(api).deploy(classifier)

    patches = applied(api)
    assert [request.path.rsplit("/", 1)[-1] for request in patches] == CHILDREN_FIRST
    assert all(request.content_type == "application/apply-patch+yaml" for request in patches)
    assert all(request.query["fieldManager"] == ["tempo"] and request.query["force"] == ["true"] for request in patches)
    assert (
        patches[0].path
        == f"/apis/machinelearning.seldon.io/v1/namespaces/{NAMESPACE}/seldondeployments/test-iris-sklearn"
    )
    assert [request.body for request in patches] == list(yaml.safe_load_all(manifest(classifier, OPTIONS)))


def test_wait_ready_polls_until_every_deployment_is_available(api: EmulatedKubernetesAPI, classifier: Any) -> None:
    runtime = runtime_for(api)
    runtime.deploy(classifier)
    runtime.wait_ready(classifier)

    reads = [request.path.rsplit("/", 1)[-1] for request in api.requests if request.method == "GET"]
    assert reads == [name for name in CHILDREN_FIRST for _ in range(3)], "two Creating reads, then Available"
    stored = api.objects(SELDON_DEPLOYMENT, NAMESPACE)
    assert {name: item["status"]["state"] for name, item in stored.items()} == dict.fromkeys(
        CHILDREN_FIRST, "Available"
    )


def test_deploying_again_updates_in_place(api: EmulatedKubernetesAPI, classifier: Any) -> None:
    runtime = runtime_for(api)
    runtime.deploy(classifier)
    first = api.objects(SELDON_DEPLOYMENT, NAMESPACE)["classifier"]["metadata"]
    runtime.deploy(classifier)
    second = api.objects(SELDON_DEPLOYMENT, NAMESPACE)["classifier"]["metadata"]

    assert second["uid"] == first["uid"] and second["generation"] == first["generation"] == 1
    runtime_for(api, with_remote(replicas=2)).deploy(classifier)
    assert api.objects(SELDON_DEPLOYMENT, NAMESPACE)["classifier"]["metadata"]["generation"] == 2


def test_list_shows_what_tempo_deployed_and_undeploy_removes_it_idempotently(
    api: EmulatedKubernetesAPI, classifier: Any
) -> None:
    runtime = runtime_for(api)
    runtime.deploy(classifier)
    runtime.wait_ready(classifier)
    someone_elses = {
        "apiVersion": "machinelearning.seldon.io/v1",
        "kind": "SeldonDeployment",
        "metadata": {"name": "not-ours", "namespace": NAMESPACE},
        "spec": {"predictors": []},
    }
    runtime.client.apply(someone_elses)

    listed = {item.name: item for item in runtime.list()}
    assert sorted(listed) == sorted(CHILDREN_FIRST), "only resources labelled managed-by=tempo"
    assert listed["classifier"].status == "Available"
    assert listed["classifier"].endpoint == "http://classifier-default.production.svc.cluster.local:8000"
    assert [r.query.get("labelSelector") for r in api.requests if r.method == "GET" and r.path.endswith("s")] == [
        ["app.kubernetes.io/managed-by=tempo"]
    ]

    runtime.undeploy(classifier)
    assert list(api.objects(SELDON_DEPLOYMENT, NAMESPACE)) == ["not-ours"]
    deletes = [request.path.rsplit("/", 1)[-1] for request in api.requests if request.method == "DELETE"]
    assert deletes == CHILDREN_FIRST[::-1], "the pipeline goes before the children it calls"
    runtime.undeploy(classifier)
    assert runtime.list() == []


def with_remote(**changes: Any) -> SeldonCoreOptions:
    return SeldonCoreOptions(remote_options={**OPTIONS.remote_options.model_dump(exclude_none=True), **changes})


def test_the_endpoint_goes_through_the_ingress_when_one_is_given(api: EmulatedKubernetesAPI, classifier: Any) -> None:
    through_ingress = runtime_for(api, with_remote(ingressBaseUrl="https://models.example.com/"))

    assert through_ingress.endpoint(classifier) == "https://models.example.com/seldon/production/classifier"
    assert runtime_for(api).endpoint(classifier) == "http://classifier-default.production.svc.cluster.local:8000"


def test_a_failed_deployment_stops_the_wait_with_the_operator_s_reason(
    api: EmulatedKubernetesAPI, classifier: Any
) -> None:
    runtime = runtime_for(api)
    runtime.deploy(classifier)
    failure = {"state": "Failed", "description": "Cannot find container classifer"}
    api.set_status(SELDON_DEPLOYMENT, NAMESPACE, "test-iris-xgboost", failure)

    with pytest.raises(
        ServerNotReadyError, match=r"'test-iris-xgboost' .* failed: Failed: Cannot find container classifer"
    ):
        runtime.wait_ready(classifier)


def test_a_deployment_that_never_becomes_available_times_out_naming_its_state(
    api: EmulatedKubernetesAPI, classifier: Any
) -> None:
    runtime = runtime_for(api)
    runtime.deploy(classifier)
    api.set_status(SELDON_DEPLOYMENT, NAMESPACE, "test-iris-sklearn", {"state": "Creating"})

    with pytest.raises(ServerNotReadyError, match=r"not available after 0.3 s \(its status: Creating\)"):
        runtime.wait_ready(classifier, timeout=0.3)


def test_a_cluster_without_seldon_core_says_to_install_it(classifier: Any) -> None:
    with (
        EmulatedKubernetesAPI([]) as bare,
        pytest.raises(DeployError, match=r"Is the SeldonDeployment resource .* installed"),
    ):
        runtime_for(bare).deploy(classifier)


def test_an_unreachable_api_server_is_a_deploy_error(classifier: Any) -> None:
    with EmulatedKubernetesAPI([SELDON]) as stopped:
        host = stopped.host
    configuration = Configuration(host=host)
    configuration.retries = 0
    runtime = SeldonKubernetesRuntime(OPTIONS, api_client=ApiClient(configuration))

    with pytest.raises(DeployError, match="cannot be reached"):
        runtime.list()


def test_deploy_with_a_kubeconfig_context_returns_a_remote_model(
    api: EmulatedKubernetesAPI, classifier: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "emulated", "cluster": {"server": api.host}},
            {"name": "elsewhere", "cluster": {"server": "http://127.0.0.1:9"}},
        ],
        "users": [{"name": "tester", "user": {"token": "not-checked"}}],
        "contexts": [
            {"name": "emulated", "context": {"cluster": "emulated", "user": "tester"}},
            {"name": "elsewhere", "context": {"cluster": "elsewhere", "user": "tester"}},
        ],
        "current-context": "elsewhere",
    }
    (tmp_path / "kubeconfig").write_text(yaml.safe_dump(kubeconfig))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
    save(classifier)

    remote = deploy(classifier, with_remote(kubeContext="emulated"))

    stored = api.objects(SELDON_DEPLOYMENT, NAMESPACE)
    assert remote.endpoint == "http://classifier-default.production.svc.cluster.local:8000"
    assert [stored[name]["spec"] for name in CHILDREN_FIRST] == [
        document["spec"] for document in yaml.safe_load_all(remote.manifest())
    ]
    assert all(stored[name]["status"]["state"] == "Available" for name in CHILDREN_FIRST)
    remote.undeploy()
    assert api.objects(SELDON_DEPLOYMENT, NAMESPACE) == {}


def test_a_missing_kubeconfig_names_the_file_and_the_fix(
    classifier: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-such-kubeconfig"))

    with pytest.raises(
        DeployError, match=r"cannot configure a Kubernetes client from the kubeconfig .*no-such-kubeconfig"
    ):
        SeldonKubernetesRuntime(OPTIONS).list()


def test_tempo_undeploy_of_a_pipeline_by_name_removes_its_children_too(
    api: EmulatedKubernetesAPI, classifier: Any, tmp_path: Path
) -> None:
    runtime_for(api).deploy(classifier)
    options_file = tmp_path / "seldon.yaml"
    options_file.write_text(yaml.safe_dump({"remote_options": {"namespace": NAMESPACE}}))
    environment = {**os.environ, "KUBECONFIG": str(api.write_kubeconfig(tmp_path / "kubeconfig"))}

    undeployed = subprocess.run(
        [
            sys.executable,
            "-m",
            "tempo_core",
            "undeploy",
            "classifier",
            "--runtime",
            "seldon",
            "--options",
            options_file,
        ],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )

    assert undeployed.returncode == 0, undeployed.stderr
    assert api.objects(SELDON_DEPLOYMENT, NAMESPACE) == {}, "the command knew only the pipeline's name"


def test_without_the_v2_plugin_a_deploy_fails_before_applying_anything(
    api: EmulatedKubernetesAPI, classifier: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    save(classifier)
    monkeypatch.setenv("KUBECONFIG", str(api.write_kubeconfig(tmp_path / "kubeconfig")))
    monkeypatch.setenv("TEMPO_DISABLED_PLUGINS", "kfserving")  # as if tempo-kfserving were not installed
    reset_plugins()
    try:
        with pytest.raises(UnknownPluginObjectError, match=r"No installed plugin registers protocol 'v2'"):
            deploy(classifier, OPTIONS)
    finally:
        reset_plugins()

    assert applied(api) == [], "nothing reached the cluster"
