"""The seed's workflow on KServe: save, upload, `tempo kserve credentials`, deploy_remote, predict, undeploy.

The cluster is tempo_test_support.cluster.EmulatedCluster. What stays emulated: the Kubernetes API server, KServe's
controller and webhook logic (which pod an InferenceService becomes, its `kserve-mlserver` runtime, the storage
initializer it injects with the S3 credentials of the predictor's service account), Knative (one pod, no
revisions or autoscaling), the ingress (`/serving/<namespace>/<name>/` forwarded to the Service) and the cluster's
DNS and kube-proxy (loopback addresses and a hosts file). What runs for real, in Docker: the storage initializer
(a stand-in that downloads `storageUri` with rclone, configured from the variables KServe's credential builder
sets from the Secret and service account `tempo kserve credentials` rendered) from the loopback S3 endpoint; the
server container from the image the InferenceService or its serving runtime names (the stand-in for the stock
MLServer 1.7.1 image, which holds nothing of tempo: custom code runs from the artifact's environment.tar.gz), as
user 1000 with /mnt/models read-only; a pipeline calling its children at their in-cluster Service names.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from tempo_core import deploy_remote, manifest, save, upload
from tempo_core.model import as_servable
from tempo_core.remote import RemoteModel
from tempo_core.testing import assert_same_result
from tempo_kfserving import KFServingOptions
from tempo_test_support.cluster import EmulatedCluster
from tempo_test_support.examples import CUSTOM_EXAMPLES, example_models
from tempo_test_support.user_models import make_fan_out, make_multiplier, ran_together

pytest_plugins = ["tempo_test_support.fixtures"]
pytestmark = [pytest.mark.docker, pytest.mark.s3]

SETOSA, VERSICOLOR = np.array([[5.1, 3.5, 1.4, 0.2]]), np.array([[5.9, 2.8, 4.1, 1.3]])


@pytest.fixture(scope="module")
def iris_on_kserve(
    emulated_cluster: EmulatedCluster, cluster_options: KFServingOptions, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Any, Any, RemoteModel]]:
    """The seed's iris pipeline saved, uploaded and deployed: (the example's module, the pipeline, the deployment)."""
    iris = example_models("iris")
    folder = tmp_path_factory.mktemp("iris")
    iris.train(str(folder))
    classifier, _, _ = iris.get_tempo_artifacts(str(folder))
    save(classifier)
    upload(classifier, cluster_options)
    with deploy_remote(classifier, cluster_options) as remote:
        yield iris, classifier, remote
    assert [container.name for container in emulated_cluster.containers()] == [], "undeploy left pods running"


def test_the_seed_iris_pipeline_serves_what_it_computes_in_process(
    iris_on_kserve: tuple[Any, Any, RemoteModel],
) -> None:
    iris, classifier, remote = iris_on_kserve

    results = [remote.predict(payload) for payload in (VERSICOLOR, SETOSA)]

    assert [result[1] for result in results] == [iris.SKLearnTag, iris.XGBoostTag]
    for payload, result in zip((VERSICOLOR, SETOSA), results, strict=True):
        assert_same_result(result, classifier(payload), "the pipeline on KServe")


def test_tempo_predict_calls_a_cluster_model_named_by_its_code(
    iris_on_kserve: tuple[Any, Any, RemoteModel], cluster_options: KFServingOptions, tmp_path: Path
) -> None:
    iris, classifier, _ = iris_on_kserve
    (tmp_path / "cluster_models.py").write_text(
        f"import sys\nsys.path.insert(0, {str(Path(iris.__file__).parent)!r})\n"
        f"from models import get_tempo_artifacts\n\n"
        f"classifier, _, _ = get_tempo_artifacts({str(Path(classifier.details.local_folder).parent)!r})\n"
    )
    options_file = tmp_path / "kserve.yaml"
    options_file.write_text(yaml.safe_dump(cluster_options.model_dump(mode="json", exclude={"runtime"})))
    kserve = ("--runtime", "kserve", "--options", str(options_file), "--data", json.dumps(VERSICOLOR.tolist()))

    def tempo(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "tempo_core", *args], cwd=tmp_path, capture_output=True, text=True)

    by_code = tempo("predict", "cluster_models.py:classifier", *kserve)
    by_name = tempo("predict", "classifier", *kserve)

    assert by_code.returncode == 0, by_code.stderr
    assert json.loads(by_code.stdout) == [[[1]], iris.SKLearnTag]
    assert by_name.returncode == 1
    assert "does not know where model 'classifier' is saved on this machine" in by_name.stderr
    assert "tempo predict MODULE:OBJECT" in by_name.stderr


@pytest.mark.parametrize(("example", "arguments"), CUSTOM_EXAMPLES)
def test_a_custom_model_runs_on_the_stock_mlserver_image_from_its_environment_tarball(
    clean_cluster: EmulatedCluster,
    cluster_options: KFServingOptions,
    example: str,
    arguments: dict[str, Any],
    tmp_path: Path,
) -> None:
    models = example_models(example)
    models.train(str(tmp_path))
    custom = as_servable(models.get_tempo_artifact(str(tmp_path)))  # a function, or a class with its @predictmethod
    save(custom)
    upload(custom, cluster_options)
    rendered = manifest(custom, cluster_options)

    with deploy_remote(custom, cluster_options) as remote:
        result = remote.predict(**arguments)

    assert f"image: {cluster_options.remote_options.mlserverImage}" in rendered
    assert "environment.tar.gz" in (tmp_path / "tempo.json").read_text()
    assert_same_result(result, custom(**arguments), f"{example} on KServe")


def test_an_edited_model_uploaded_and_deployed_again_serves_the_new_code(
    clean_cluster: EmulatedCluster, cluster_options: KFServingOptions, tmp_path: Path
) -> None:
    """The operator replaces the pod only when the InferenceService changes: the artifact's digest, in the
    predictor's annotations, changes it. The emulated controller replaces a pod on any change of the spec; that
    KServe's rolls a new revision on a changed predictor annotation is KServe's documented behaviour, not checked."""
    first = make_multiplier(tmp_path / "multiplier", 2, uri="s3://tempo/redeploy/multiplier")
    upload(first, cluster_options)
    with deploy_remote(first, cluster_options) as remote:
        assert remote.predict(np.ones(2)).tolist() == [2.0, 2.0]

        edited = make_multiplier(tmp_path / "multiplier", 3, uri="s3://tempo/redeploy/multiplier")
        upload(edited, cluster_options)
        again = deploy_remote(edited, cluster_options)

        assert again.predict(np.ones(2)).tolist() == [3.0, 3.0]


def test_an_async_pipeline_on_kserve_calls_the_children_it_gathers_at_the_same_time(
    clean_cluster: EmulatedCluster, cluster_options: KFServingOptions, tmp_path: Path
) -> None:
    fan_out = make_fan_out(tmp_path, uri="s3://tempo/async")
    upload(fan_out, cluster_options)

    with deploy_remote(fan_out, cluster_options) as remote:
        spans = remote.predict(0.5)

    assert spans.shape == (3, 2)
    assert ran_together(spans), "each child's pod started its call before any ended"
