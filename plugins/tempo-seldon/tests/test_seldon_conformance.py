"""The seldon-k8s runtime passes tempo's conformance kit on the emulated cluster, whose pods run for real in Docker.

What is emulated and what runs for real is said in tempo_test_support.cluster and in test_seldon_cluster.py: the
API server, Seldon Core's operator logic, its executor, Istio, DNS and kube-proxy are emulated; the storage
initializer (rclone, from the loopback S3 endpoint, with the Secret `tempo seldon secret` rendered) and the
server (the stand-in stock MLServer image activating each artifact's environment.tar.gz, as user 1000) run in
containers.
"""

from __future__ import annotations

import pytest

# The kit's own asserts explain themselves only if pytest rewrites them, which needs this before the import.
pytest.register_assert_rewrite("tempo_core.testing")

from tempo_core import upload  # noqa: E402
from tempo_core.testing import ConformanceModels, RuntimeConformance, build_conformance_models  # noqa: E402
from tempo_seldon import SeldonCoreOptions  # noqa: E402

# In the test module rather than conftest.py: this folder's conftest is not the top-level one in every run.
pytest_plugins = ["tempo_core.testing", "tempo_test_support.fixtures"]
pytestmark = [pytest.mark.docker, pytest.mark.s3]


@pytest.fixture(scope="module")
def tempo_conformance_models(
    cluster_options: SeldonCoreOptions, tmp_path_factory: pytest.TempPathFactory
) -> ConformanceModels:
    """The kit's models, saved and uploaded to the bucket the cluster downloads them from."""
    models = build_conformance_models(
        tmp_path_factory.mktemp("conformance"), uri_for=lambda name: f"s3://tempo/conformance/{name}"
    )
    upload(models.pipeline, cluster_options)
    upload(models.failing, cluster_options)
    return models


class TestSeldonRuntime(RuntimeConformance):
    # A pod unpacks its environment before MLServer tries (and fails) to load the model.
    failure_report_timeout = 120.0

    @pytest.fixture
    def tempo_runtime_options(self, cluster_options: SeldonCoreOptions) -> SeldonCoreOptions:
        return cluster_options
