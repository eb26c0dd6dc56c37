"""The container a manifest describes for a pipeline really starts: MLServer configured by its env alone.

The KServe manifest's custom container tells MLServer, through `MLSERVER_MODEL_*` variables only, to serve the
artifact that the storage initializer downloads to /mnt/models with tempo's runtime. Here a real MLServer process
gets that env, with the saved artifact folder standing in for /mnt/models, free loopback ports, and the
children's in-cluster addresses replaced by children deployed on this machine. Nothing else is mocked.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from tempo_core import deploy_local, manifest, save
from tempo_core.processes import ServerProcess, free_port
from tempo_core.remote import ProtocolClient
from tempo_kfserving import KFServingOptions, KFServingV2Protocol
from tempo_test_support.servers import wait_until_ready

pytestmark = pytest.mark.server

VERSICOLOR = np.array([[5.9, 2.8, 4.1, 1.3]])
SETOSA = np.array([[5.1, 3.5, 1.4, 0.2]])
OPTIONS = KFServingOptions(remote_options={"namespace": "production", "serverImage": "tempo-mlserver:test"})


def test_the_pipeline_container_env_serves_the_pipeline(iris_artifacts: str, tmp_path: Path) -> None:
    from models import get_tempo_artifacts

    classifier, sklearn_model, xgboost_model = get_tempo_artifacts(iris_artifacts)
    save(classifier)
    container = list(yaml.safe_load_all(manifest(classifier, OPTIONS)))[-1]["spec"]["predictor"]["containers"][0]
    env = {item["name"]: item["value"] for item in container["env"]}
    in_cluster = json.loads(env["MLSERVER_MODEL_EXTRA"])["child_endpoints"]

    with deploy_local(sklearn_model) as sklearn_remote, deploy_local(xgboost_model) as xgboost_remote:
        local = {sklearn_model.name: sklearn_remote.endpoint, xgboost_model.name: xgboost_remote.endpoint}
        assert set(in_cluster) == set(local)
        port = free_port()
        env |= {
            "MLSERVER_MODEL_URI": str(classifier.details.local_folder),  # where the storage initializer would put it
            "MLSERVER_MODEL_EXTRA": json.dumps({"child_endpoints": local}),
            "MLSERVER_HTTP_PORT": str(port),
            "MLSERVER_GRPC_PORT": str(free_port()),
            "MLSERVER_METRICS_PORT": str(free_port()),
        }
        del env["STORAGE_URI"]  # read by KServe's storage initializer, not by the server
        (tmp_path / "repository").mkdir()
        argv = [sys.executable, "-c", "from mlserver.cli import main; main()", "start", str(tmp_path / "repository")]
        server = ServerProcess(argv, tmp_path, env, tmp_path / "server.log")
        try:
            endpoint = f"http://127.0.0.1:{port}"
            wait_until_ready(f"{endpoint}/v2/models/classifier/ready", server)
            client = ProtocolClient(classifier, KFServingV2Protocol(), endpoint)
            answers = [client({"payload": VERSICOLOR}), client({"payload": SETOSA})]
            client.close()
        finally:
            server.stop()

    for (array, tag), (expected_array, expected_tag) in zip(
        answers, [classifier(VERSICOLOR), classifier(SETOSA)], strict=True
    ):
        np.testing.assert_array_equal(array, expected_array)
        assert tag == expected_tag
