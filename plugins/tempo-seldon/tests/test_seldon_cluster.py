"""The seed's workflow on Seldon Core: save, upload, `tempo seldon secret`, deploy_remote, predict, undeploy.

The cluster is tempo_test_support.cluster.EmulatedCluster. What stays emulated: the Kubernetes API server, Seldon
Core's operator logic (which pod a SeldonDeployment becomes), Seldon's executor (the Service reaches the model's
container directly), Istio (the ingress forwards `/seldon/<namespace>/<name>/` to the Service) and the cluster's
DNS and kube-proxy (loopback addresses and a hosts file). What runs for real, in Docker: the rclone storage
initializer downloading `modelUri` from the loopback S3 endpoint with the Secret that `tempo seldon secret`
rendered; the server container from the image the SeldonDeployment names (the stand-in for the stock MLServer
1.7.1 image, which holds nothing of tempo: custom code runs from the artifact's environment.tar.gz; or the image
`tempo docker build-image --push` built and pushed to a real registry on loopback, pulled from there), as user
1000 with /mnt/models read-only; a pipeline calling its children at their in-cluster Service names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import docker
import numpy as np
import pytest

from tempo_core import deploy_remote, manifest, save, upload
from tempo_core.model import as_servable
from tempo_core.testing import assert_same_result
from tempo_docker import build_image
from tempo_seldon import SeldonCoreOptions
from tempo_test_support.cluster import EmulatedCluster
from tempo_test_support.examples import CUSTOM_EXAMPLES, example_models
from tempo_test_support.registry import LoopbackRegistry

pytest_plugins = ["tempo_test_support.fixtures"]
pytestmark = [pytest.mark.docker, pytest.mark.s3]

SETOSA, VERSICOLOR = np.array([[5.1, 3.5, 1.4, 0.2]]), np.array([[5.9, 2.8, 4.1, 1.3]])


def test_the_seed_iris_pipeline_serves_what_it_computes_in_process(
    clean_cluster: EmulatedCluster, cluster_options: SeldonCoreOptions, tmp_path: Path
) -> None:
    iris = example_models("iris")
    iris.train(str(tmp_path))
    classifier, _, _ = iris.get_tempo_artifacts(str(tmp_path))
    save(classifier)
    upload(classifier, cluster_options)

    with deploy_remote(classifier, cluster_options) as remote:
        results = [remote.predict(payload) for payload in (VERSICOLOR, SETOSA)]

    assert [result[1] for result in results] == [iris.SKLearnTag, iris.XGBoostTag]
    for payload, result in zip((VERSICOLOR, SETOSA), results, strict=True):
        assert_same_result(result, classifier(payload), "the pipeline on Seldon Core")


@pytest.mark.parametrize(("example", "arguments"), CUSTOM_EXAMPLES)
def test_a_custom_model_runs_on_the_stock_mlserver_image_from_its_environment_tarball(
    clean_cluster: EmulatedCluster,
    cluster_options: SeldonCoreOptions,
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
    assert_same_result(result, custom(**arguments), f"{example} on Seldon Core")


def test_a_custom_model_runs_on_an_image_tempo_built_and_pushed_to_a_registry(
    clean_cluster: EmulatedCluster,
    cluster_options: SeldonCoreOptions,
    registry: LoopbackRegistry,
    base_image: str,
    docker_engine: docker.DockerClient,
    tmp_path: Path,
) -> None:
    models = example_models("custom-model")
    models.train(str(tmp_path / "model"))
    custom = models.get_tempo_artifact(str(tmp_path / "model"))
    save(custom)
    (tmp_path / "requirements.txt").write_text("numpy\n")
    image = f"{registry.address}/tempo-linear-divorce:1"
    build_image(image, base=base_image, requirements=tmp_path / "requirements.txt", push=True)
    docker_engine.images.remove(image)  # so the cluster pulls it from the registry
    remote_options = cluster_options.remote_options.model_copy(update={"serverImage": image})
    options = cluster_options.model_copy(update={"remote_options": remote_options})
    upload(custom, options)
    arguments = {"marriage": np.array([20.0, 25.5]), "age": np.array([26.0, 28.0])}

    with deploy_remote(custom, options) as remote:
        result = remote.predict(**arguments)

    assert_same_result(result, custom(**arguments), "the function model on the image tempo built")
    assert docker_engine.images.get(image).labels["io.tempo.environment"], "the cluster pulled tempo's image"
    assert "environment.tar.gz" not in (tmp_path / "model" / "tempo.json").read_text(), "no tarball is needed"
