"""InferenceServices rendered for every framework and for the iris pipeline, checked against KServe's real CRD.

Each manifest is validated with jsonschema against the v1beta1 `openAPIV3Schema` of KServe v0.20.0's CRD
(tests/specs), and again against a strict copy that refuses unknown fields (as an API server with strict field
validation does), and every name Kubernetes derives objects from is checked to be a DNS-1123 label.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Tuple

import numpy as np
import pytest
import yaml

from tempo_core import (
    BatchingOptions,
    Model,
    ModelFramework,
    PipelineModels,
    RequestLogOptions,
    manifest,
    model,
    pipeline,
    predictmethod,
    save,
)
from tempo_core.errors import DeployError
from tempo_core.model import Servable, as_servable
from tempo_kfserving import KFServingOptions
from tempo_test_support.user_models import make_multiplier
from tempo_test_support.validation import manifest_errors, strict_schema

SPECS = Path(__file__).parent / "specs"
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
IMAGE = "registry.example.com/tempo-mlserver:0.1.0"
OPTIONS = KFServingOptions(remote_options={"namespace": "production", "serverImage": IMAGE})
FULL_OPTIONS = KFServingOptions(
    remote_options={
        "namespace": "production",
        "serviceAccountName": "minio-reader",
        "replicas": 2,
        "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"cpu": 1}},
        "serverImage": IMAGE,
    }
)
FRAMEWORKS = [
    ModelFramework.SKLearn,
    ModelFramework.XGBoost,
    ModelFramework.LightGBM,
    ModelFramework.MLFlow,
    ModelFramework.ONNX,
    ModelFramework.TensorFlow,
    ModelFramework.PyTorch,
    ModelFramework.Triton,
]


@pytest.fixture(scope="session")
def kserve_schema() -> dict[str, Any]:
    """The InferenceService v1beta1 `openAPIV3Schema` of KServe v0.20.0, loaded once (see specs/README.md)."""
    schema: dict[str, Any] = json.loads((SPECS / "inferenceservice.schema.json").read_text())
    return schema


@pytest.fixture(scope="session")
def strict_kserve_schema(kserve_schema: dict[str, Any]) -> dict[str, Any]:
    return strict_schema(kserve_schema)


def custom_function() -> Servable:
    @model(name="scaler", uri="s3://models/scaler", local_folder="/tmp/never-used/scaler")
    def scaler(values: np.ndarray, label: str) -> Tuple[np.ndarray, str]:
        return values * 2, label.upper()

    return scaler


def custom_class() -> Servable:
    @model(name="detector", uri="gs://models/detector", local_folder="/tmp/never-used/detector")
    class Detector:
        @predictmethod
        def detect(self, payload: np.ndarray) -> dict:
            return {"outlier": bool(payload.max() > 10)}

    return as_servable(Detector)


def all_models() -> list[Servable]:
    standard = [Model(name=f"{p.value}-model", platform=p, uri=f"s3://models/{p.value}") for p in FRAMEWORKS]
    return [*standard, custom_function(), custom_class()]


def documents(servable: Any, options: KFServingOptions = OPTIONS) -> list[dict[str, Any]]:
    return list(yaml.safe_load_all(manifest(servable, options)))


def check_valid(document: dict[str, Any], schema: dict[str, Any], strict: dict[str, Any]) -> None:
    assert manifest_errors(document, schema) == []
    assert manifest_errors(document, strict) == []
    name = document["metadata"]["name"]
    containers = document["spec"]["predictor"].get("containers", [])
    names = [name, f"{name}-predictor", *(container["name"] for container in containers)]
    assert all(DNS_LABEL.match(item) for item in names), names


@pytest.mark.parametrize("options", [OPTIONS, FULL_OPTIONS], ids=["minimal-options", "every-option"])
@pytest.mark.parametrize("servable", all_models(), ids=lambda servable: servable.name)
def test_every_framework_renders_a_valid_inference_service(
    servable: Servable, options: KFServingOptions, kserve_schema: dict[str, Any], strict_kserve_schema: dict[str, Any]
) -> None:
    (document,) = documents(servable, options)

    check_valid(document, kserve_schema, strict_kserve_schema)
    assert document["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "tempo", "tempo.io/model": servable.name}


@pytest.mark.parametrize(
    ("platform", "format_name", "runtime"),
    [
        (ModelFramework.SKLearn, "sklearn", {"runtime": "kserve-mlserver"}),
        (ModelFramework.XGBoost, "xgboost", {"runtime": "kserve-mlserver"}),
        (ModelFramework.ONNX, "onnx", {}),
    ],
)
def test_a_standard_artifact_names_its_format_storage_the_v2_protocol_and_mlservers_runtime(
    platform: ModelFramework, format_name: str, runtime: dict[str, str]
) -> None:
    (document,) = documents(Model(name="iris", platform=platform, uri="s3://models/iris"), FULL_OPTIONS)
    predictor = document["spec"]["predictor"]

    # MLServer's formats name its runtime: KServe would otherwise pick its own sklearn server by priority.
    assert predictor["model"] == {
        "modelFormat": {"name": format_name},
        **runtime,
        "protocolVersion": "v2",
        "storageUri": "s3://models/iris",
        "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"cpu": 1}},
    }
    assert predictor["serviceAccountName"] == "minio-reader"
    assert (predictor["minReplicas"], predictor["maxReplicas"]) == (2, 2)


def test_the_iris_pipeline_renders_its_children_first_and_finds_them_in_the_cluster(
    iris_artifacts: str, kserve_schema: dict[str, Any], strict_kserve_schema: dict[str, Any]
) -> None:
    from models import get_tempo_artifacts

    classifier, _, _ = get_tempo_artifacts(iris_artifacts)
    rendered = manifest(classifier, FULL_OPTIONS)
    docs = list(yaml.safe_load_all(rendered))

    assert [doc["metadata"]["name"] for doc in docs] == ["test-iris-sklearn", "test-iris-xgboost", "classifier"]
    for doc in docs:
        check_valid(doc, kserve_schema, strict_kserve_schema)
    (container,) = docs[-1]["spec"]["predictor"]["containers"]
    env = {item["name"]: item["value"] for item in container["env"]}
    assert container["name"] == "kserve-container" and container["image"] == IMAGE
    assert env["STORAGE_URI"] == "s3://tempo/basic/pipeline"
    assert env["MLSERVER_MODEL_URI"] == "/mnt/models"
    assert json.loads(env["MLSERVER_MODEL_EXTRA"]) == {
        "child_endpoints": {
            "test-iris-sklearn": "http://test-iris-sklearn-predictor.production.svc.cluster.local",
            "test-iris-xgboost": "http://test-iris-xgboost-predictor.production.svc.cluster.local",
        }
    }
    assert iris_artifacts not in rendered, "no local path in a manifest"
    assert manifest(classifier, FULL_OPTIONS) == rendered, "the same model renders the same bytes"


def test_strict_validation_catches_a_misspelt_field(
    kserve_schema: dict[str, Any], strict_kserve_schema: dict[str, Any]
) -> None:
    (document,) = documents(Model(name="iris", platform=ModelFramework.SKLearn, uri="s3://m/iris"))
    document["spec"]["predictor"]["model"]["storageURI"] = document["spec"]["predictor"]["model"].pop("storageUri")

    assert manifest_errors(document, kserve_schema) == []
    assert any("storageURI" in error for error in manifest_errors(document, strict_kserve_schema))


def test_custom_code_runs_on_the_stock_mlserver_image_unless_a_server_image_is_named() -> None:
    (stock,) = documents(custom_function(), KFServingOptions())
    (own,) = documents(custom_function(), OPTIONS)

    assert stock["spec"]["predictor"]["containers"][0]["image"] == "docker.io/seldonio/mlserver:1.7.1"
    assert own["spec"]["predictor"]["containers"][0]["image"] == IMAGE


@pytest.mark.parametrize(
    ("servable", "options", "message"),
    [
        (Model(name="iris", platform="sklearn", uri="minio:models/iris"), OPTIONS, "not rclone remotes"),
        (Model(name="iris", platform="sklearn", uri="file:///models/iris"), OPTIONS, "local uri"),
        (Model(name="explainer", platform="alibi", uri="s3://m/x"), OPTIONS, "no serving runtime for Alibi"),
        (
            Model(name="iris", platform="sklearn", uri="s3://m/iris"),
            KFServingOptions(remote_options={"authSecretName": "minio-secret"}),
            "through the predictor's service account",
        ),
    ],
    ids=["rclone-remote", "local-uri", "no-runtime", "secret-name"],
)
def test_what_kserve_cannot_serve_is_refused_with_the_fix(
    servable: Servable, options: KFServingOptions, message: str
) -> None:
    with pytest.raises(DeployError, match=message):
        manifest(servable, options)


def test_the_saved_artifacts_digest_annotates_the_predictor_and_changes_with_an_edit(
    tmp_path: Path, kserve_schema: dict[str, Any], strict_kserve_schema: dict[str, Any]
) -> None:
    first = make_multiplier(tmp_path / "multiplier", 2, uri="s3://models/multiplier")
    assert "annotations" not in documents(first)[0]["spec"]["predictor"], "never saved"
    save(first, save_env=False)
    (saved,) = documents(first)
    check_valid(saved, kserve_schema, strict_kserve_schema)

    edited = make_multiplier(tmp_path / "multiplier", 3, uri="s3://models/multiplier")
    save(edited, save_env=False)
    (resaved,) = documents(edited)

    digest = saved["spec"]["predictor"]["annotations"]["tempo.io/artifact-sha256"]
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert resaved["spec"]["predictor"]["annotations"]["tempo.io/artifact-sha256"] != digest
    assert documents(edited) == [resaved], "the same artifact renders the same manifest"


BATCHED = OPTIONS.model_copy(update={"batching": BatchingOptions(max_batch_size=16, max_batch_time=0.02)})
BATCH_ENV = [
    {"name": "MLSERVER_MODEL_MAX_BATCH_SIZE", "value": "16"},
    {"name": "MLSERVER_MODEL_MAX_BATCH_TIME", "value": "0.02"},
]


def test_batching_sets_mlservers_batch_variables_on_the_predictor(
    kserve_schema: dict[str, Any], strict_kserve_schema: dict[str, Any]
) -> None:
    sklearn = Model(name="iris", platform=ModelFramework.SKLearn, uri="s3://models/iris")
    (prepackaged,) = documents(sklearn, BATCHED)
    (custom,) = documents(make_multiplier(Path("/tmp/never-used/multiplier"), 2, uri="s3://models/multiplier"), BATCHED)

    for document in (prepackaged, custom):
        check_valid(document, kserve_schema, strict_kserve_schema)
    assert prepackaged["spec"]["predictor"]["model"]["env"] == BATCH_ENV
    assert custom["spec"]["predictor"]["containers"][0]["env"][-2:] == BATCH_ENV


def test_batching_a_model_that_kserve_serves_without_mlserver_is_refused() -> None:
    tensorflow = Model(name="tf", platform=ModelFramework.TensorFlow, uri="s3://models/tf")

    with pytest.raises(DeployError, match=r"model 'tf': adaptive batching is MLServer's.*drop batching="):
        documents(tensorflow, BATCHED)


def test_only_the_deployed_model_is_batched_not_its_children() -> None:
    child = Model(name="iris", platform=ModelFramework.SKLearn, uri="s3://models/iris")

    @pipeline(name="labels", uri="s3://models/labels", models=PipelineModels(iris=child))
    def labels(payload: np.ndarray) -> np.ndarray:
        return labels.models.iris(payload)

    iris, pipeline_document = documents(labels, BATCHED)

    assert "env" not in iris["spec"]["predictor"]["model"]
    assert pipeline_document["spec"]["predictor"]["containers"][0]["env"][-2:] == BATCH_ENV


def test_a_request_log_renders_kserves_logger_on_every_predictor(
    kserve_schema: dict[str, Any], strict_kserve_schema: dict[str, Any]
) -> None:
    child = Model(name="iris", platform=ModelFramework.SKLearn, uri="s3://models/iris")

    @pipeline(name="labels", uri="s3://models/labels", models=PipelineModels(iris=child))
    def labels(payload: np.ndarray) -> np.ndarray:
        return labels.models.iris(payload)

    logged = OPTIONS.model_copy(update={"request_log": RequestLogOptions(url="http://logger.logs/", mode="request")})
    rendered = documents(labels, logged)

    for document in rendered:
        check_valid(document, kserve_schema, strict_kserve_schema)
    assert [document["spec"]["predictor"]["logger"] for document in rendered] == [
        {"mode": "request", "url": "http://logger.logs/"}
    ] * 2


def test_a_sampled_request_log_is_refused_for_the_cluster() -> None:
    sampled = OPTIONS.model_copy(update={"request_log": RequestLogOptions(url="http://logger.logs/", sample=0.1)})

    with pytest.raises(DeployError, match=r"the cluster's request logger sends every request.*set sample=1.0"):
        documents(make_multiplier(Path("/tmp/never-used/multiplier"), 2, uri="s3://models/multiplier"), sampled)
