"""SeldonDeployments rendered for every framework and for the iris pipeline, checked against Seldon Core's real CRD.

Each manifest is validated with jsonschema against the v1 `openAPIV3Schema` of Seldon Core v1.17.1's CRD, and
again against a strict copy that refuses unknown fields (as an API server with strict field validation does), and
every name Kubernetes derives objects from is checked to be a DNS-1123 label.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from seldon_models import FRAMEWORKS, custom_class_model, custom_function_model, standard_model

from tempo_core import (
    BatchingOptions,
    Model,
    ModelFramework,
    PipelineModels,
    RequestLogOptions,
    load,
    manifest,
    model,
    pipeline,
    save,
)
from tempo_core.errors import DeployError
from tempo_core.model import Servable
from tempo_seldon import SeldonCoreOptions, SeldonProtocol
from tempo_test_support.user_models import make_multiplier
from tempo_test_support.validation import manifest_errors, strict_schema

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
SEED_OPTIONS = SeldonCoreOptions(**{"remote_options": {"namespace": "production", "authSecretName": "minio-secret"}})
FULL_OPTIONS = SeldonCoreOptions(
    remote_options={
        "namespace": "production",
        "authSecretName": "minio-secret",
        "serviceAccountName": "tempo-pipeline",
        "replicas": 3,
        "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}},
        "serverImage": "registry.example.com/tempo-mlserver:0.1.0",
    }
)


@pytest.fixture(scope="module")
def strict_seldon_schema(seldon_schema: dict[str, Any]) -> dict[str, Any]:
    return strict_schema(seldon_schema)


def documents(servable: Any, options: SeldonCoreOptions = SEED_OPTIONS) -> list[dict[str, Any]]:
    return list(yaml.safe_load_all(manifest(servable, options)))


def check_valid(document: dict[str, Any], schema: dict[str, Any], strict: dict[str, Any]) -> None:
    assert manifest_errors(document, schema) == []
    assert manifest_errors(document, strict) == []
    names = [document["metadata"]["name"]]
    for predictor in document["spec"]["predictors"]:
        names += [predictor["name"], predictor["graph"]["name"], f"{document['metadata']['name']}-{predictor['name']}"]
        names += [c["name"] for spec in predictor.get("componentSpecs", []) for c in spec["spec"]["containers"]]
    assert all(DNS_LABEL.match(name) for name in names), names


def all_models() -> list[Servable]:
    return [*(standard_model(platform) for platform in FRAMEWORKS), custom_function_model(), custom_class_model()]


@pytest.mark.parametrize("options", [SEED_OPTIONS, FULL_OPTIONS], ids=["seed-options", "every-option"])
@pytest.mark.parametrize("servable", all_models(), ids=lambda servable: servable.name)
def test_every_framework_renders_a_valid_seldon_deployment(
    servable: Servable, options: SeldonCoreOptions, seldon_schema: dict[str, Any], strict_seldon_schema: dict[str, Any]
) -> None:
    (document,) = documents(servable, options)

    check_valid(document, seldon_schema, strict_seldon_schema)
    assert document["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "tempo", "tempo.io/model": servable.name}
    graph = document["spec"]["predictors"][0]["graph"]
    assert graph["modelUri"] == servable.details.uri
    assert graph["envSecretRefName"] == "minio-secret"


def test_the_iris_pipeline_renders_its_children_first_all_valid(
    iris_artifacts: str, seldon_schema: dict[str, Any], strict_seldon_schema: dict[str, Any]
) -> None:
    from models import get_tempo_artifacts

    classifier, _, _ = get_tempo_artifacts(iris_artifacts)
    rendered = manifest(classifier, FULL_OPTIONS)
    docs = list(yaml.safe_load_all(rendered))

    assert [doc["metadata"]["name"] for doc in docs] == ["test-iris-sklearn", "test-iris-xgboost", "classifier"]
    for doc in docs:
        check_valid(doc, seldon_schema, strict_seldon_schema)
    assert [doc["spec"]["predictors"][0]["graph"]["implementation"] for doc in docs] == [
        "SKLEARN_SERVER",
        "XGBOOST_SERVER",
        "TEMPO_SERVER",
    ]
    assert manifest(classifier, FULL_OPTIONS) == rendered, "the same model renders the same bytes"


def test_a_pipeline_finds_its_children_at_their_in_cluster_services(iris_artifacts: str) -> None:
    from models import get_tempo_artifacts

    classifier, _, _ = get_tempo_artifacts(iris_artifacts)
    pipeline_doc = documents(classifier, FULL_OPTIONS)[-1]
    predictor = pipeline_doc["spec"]["predictors"][0]
    (container,) = predictor["componentSpecs"][0]["spec"]["containers"]
    env = {item["name"]: item["value"] for item in container["env"]}

    assert yaml.safe_load(env["MLSERVER_MODEL_EXTRA"]) == {
        "child_endpoints": {
            "test-iris-sklearn": "http://test-iris-sklearn-default.production.svc.cluster.local:8000",
            "test-iris-xgboost": "http://test-iris-xgboost-default.production.svc.cluster.local:8000",
        }
    }
    assert env["MLSERVER_MODEL_IMPLEMENTATION"] == "tempo_kfserving.mlserver_runtime.TempoMLServerModel"
    assert env["MLSERVER_MODEL_NAME"] == "classifier"
    assert env["MLSERVER_MODEL_URI"] == "/mnt/models"
    assert container["image"] == "registry.example.com/tempo-mlserver:0.1.0"
    assert container["resources"] == {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}}
    assert predictor["componentSpecs"][0]["spec"]["serviceAccountName"] == "tempo-pipeline"
    assert predictor["replicas"] == 3
    assert pipeline_doc["spec"]["protocol"] == "v2"


def test_custom_code_names_the_stock_mlserver_image_its_environment_is_built_for() -> None:
    (document,) = documents(custom_function_model())
    (container,) = document["spec"]["predictors"][0]["componentSpecs"][0]["spec"]["containers"]

    # Not left to the cluster's TEMPO_SERVER default, whose Python may not be the one upload() built for.
    assert document["spec"]["predictors"][0]["graph"]["implementation"] == "TEMPO_SERVER"
    assert container["image"] == "docker.io/seldonio/mlserver:1.7.1"


def test_the_env_names_are_the_settings_mlserver_reads() -> None:
    settings = pytest.importorskip("mlserver.settings")
    (document,) = documents(custom_function_model())
    container = document["spec"]["predictors"][0]["componentSpecs"][0]["spec"]["containers"][0]
    model_fields = {f"MLSERVER_MODEL_{name.upper()}" for name in settings.ModelParameters.model_fields} | {
        "MLSERVER_MODEL_NAME",
        "MLSERVER_MODEL_IMPLEMENTATION",
    }
    server_fields = {f"MLSERVER_{name.upper()}" for name in settings.Settings.model_fields}

    assert {item["name"] for item in container["env"]} <= model_fields | server_fields


def test_no_local_path_and_no_secret_value_appear_in_a_manifest(iris_artifacts: str) -> None:
    from models import get_tempo_artifacts

    classifier, sklearn_model, _ = get_tempo_artifacts(iris_artifacts)
    rendered = manifest(classifier, FULL_OPTIONS)

    assert iris_artifacts not in rendered
    assert str(sklearn_model.details.local_folder) not in rendered
    assert "kind: Secret" not in rendered and "stringData" not in rendered


def test_the_seldon_protocol_selects_seldon_servers(seldon_schema: dict[str, Any]) -> None:
    sklearn = Model(name="iris", platform=ModelFramework.SKLearn, uri="s3://m/iris", protocol=SeldonProtocol())
    tensorflow = Model(name="mnist", platform=ModelFramework.TensorFlow, uri="s3://m/tf", protocol=SeldonProtocol())
    v2_tensorflow = Model(name="mnist-v2", platform=ModelFramework.TensorFlow, uri="s3://m/tf")

    (sklearn_doc,) = documents(sklearn)
    (tensorflow_doc,) = documents(tensorflow)
    (v2_doc,) = documents(v2_tensorflow)

    assert sklearn_doc["spec"]["protocol"] == "seldon"
    assert tensorflow_doc["spec"]["predictors"][0]["graph"]["implementation"] == "TENSORFLOW_SERVER"
    assert v2_doc["spec"]["predictors"][0]["graph"]["implementation"] == "TRITON_SERVER"
    assert manifest_errors(tensorflow_doc, seldon_schema) == []


@pytest.mark.parametrize(
    ("servable", "message"),
    [
        (Model(name="local", platform=ModelFramework.SKLearn, uri="file:///tmp/model"), "local uri"),
        (Model(name="bare", platform=ModelFramework.SKLearn, uri="/data/models/iris"), "local uri"),
        (Model(name="nowhere", platform=ModelFramework.SKLearn), "has no uri"),
        (Model(name="gbm", platform=ModelFramework.LightGBM, uri="s3://m/gbm"), "LightGBM"),
        (
            Model(name="onnx-v1", platform=ModelFramework.ONNX, uri="s3://m/onnx", protocol=SeldonProtocol()),
            "over v2, not 'seldon'",
        ),
        (Model(name="a" * 60, platform=ModelFramework.SKLearn, uri="s3://m/a"), "longer than 63"),
    ],
    ids=["file-uri", "bare-path", "no-uri", "no-server", "protocol", "long-name"],
)
def test_what_seldon_core_cannot_serve_is_refused_with_the_fix(servable: Servable, message: str) -> None:
    with pytest.raises(DeployError, match=message):
        manifest(servable, SEED_OPTIONS)


def test_custom_code_over_the_seldon_protocol_is_refused() -> None:
    @model(name="echo", uri="s3://m/echo", protocol=SeldonProtocol())
    def echo(text: str) -> str:
        return text

    with pytest.raises(DeployError, match="V2 protocol only"):
        manifest(echo, SEED_OPTIONS)


def test_options_refuse_what_kubernetes_would_refuse() -> None:
    with pytest.raises(ValueError, match="not a valid Kubernetes namespace"):
        SeldonCoreOptions(remote_options={"namespace": "Production"})
    with pytest.raises(ValueError, match="not a Kubernetes quantity"):
        SeldonCoreOptions(remote_options={"resources": {"requests": {"cpu": "half"}}})
    with pytest.raises(ValueError, match="authSecretNme"):
        SeldonCoreOptions(remote_options={"authSecretNme": "typo"})


def test_strict_validation_catches_a_misspelt_field_that_the_plain_schema_lets_through(
    seldon_schema: dict[str, Any], strict_seldon_schema: dict[str, Any]
) -> None:
    (document,) = documents(custom_function_model(), FULL_OPTIONS)
    predictor = document["spec"]["predictors"][0]
    predictor["graph"]["modelURI"] = predictor["graph"].pop("modelUri")
    predictor["componentSpecs"][0]["spec"]["containers"][0]["resource"] = {"limits": {"cpu": "1"}}

    assert manifest_errors(document, seldon_schema) == []
    errors = manifest_errors(document, strict_seldon_schema)
    assert any("modelURI" in error for error in errors) and any("'resource'" in error for error in errors)


def test_a_pipeline_loaded_from_its_folder_renders_the_same_manifest(iris_artifacts: str) -> None:
    from models import get_tempo_artifacts

    classifier, _, _ = get_tempo_artifacts(iris_artifacts)
    save(classifier)

    assert manifest(load(classifier.details.local_folder), FULL_OPTIONS) == manifest(classifier, FULL_OPTIONS)


def test_a_nested_pipeline_lists_every_model_once_innermost_first(iris_artifacts: str) -> None:
    from models import get_tempo_artifacts

    classifier, sklearn_model, _ = get_tempo_artifacts(iris_artifacts)

    @pipeline(name="router", uri="s3://tempo/router", models=PipelineModels(inner=classifier, direct=sklearn_model))
    def router(payload: np.ndarray) -> np.ndarray:
        return router.models.inner(payload)[0]

    names = [document["metadata"]["name"] for document in documents(router, FULL_OPTIONS)]
    assert names == ["test-iris-sklearn", "test-iris-xgboost", "classifier", "router"]


def test_the_saved_artifacts_digest_annotates_the_pod_and_changes_with_an_edit(
    tmp_path: Path, seldon_schema: dict[str, Any], strict_seldon_schema: dict[str, Any]
) -> None:
    first = make_multiplier(tmp_path / "multiplier", 2, uri="s3://models/multiplier")
    save(first, save_env=False)
    (saved,) = documents(first, FULL_OPTIONS)
    check_valid(saved, seldon_schema, strict_seldon_schema)

    edited = make_multiplier(tmp_path / "multiplier", 3, uri="s3://models/multiplier")
    save(edited, save_env=False)
    (resaved,) = documents(edited, FULL_OPTIONS)

    def digest(document: dict[str, Any]) -> str:
        component = document["spec"]["predictors"][0]["componentSpecs"][0]
        return str(component["metadata"]["annotations"]["tempo.io/artifact-sha256"])

    assert re.fullmatch(r"[0-9a-f]{64}", digest(saved))
    assert digest(resaved) != digest(saved)
    assert documents(edited, FULL_OPTIONS) == [resaved], "the same artifact renders the same manifest"


BATCHED = FULL_OPTIONS.model_copy(update={"batching": BatchingOptions(max_batch_size=16, max_batch_time=0.02)})
BATCH_ENV = [
    {"name": "MLSERVER_MODEL_MAX_BATCH_SIZE", "value": "16"},
    {"name": "MLSERVER_MODEL_MAX_BATCH_TIME", "value": "0.02"},
]


@pytest.mark.parametrize(
    "servable",
    [
        standard_model(ModelFramework.SKLearn),
        make_multiplier(Path("/tmp/never-used/multiplier"), 2, uri="s3://models/multiplier"),
    ],
    ids=["prepackaged", "custom"],
)
def test_batching_sets_mlservers_batch_variables_on_the_models_container(
    servable: Servable, seldon_schema: dict[str, Any], strict_seldon_schema: dict[str, Any]
) -> None:
    (document,) = documents(servable, BATCHED)

    check_valid(document, seldon_schema, strict_seldon_schema)
    (container,) = document["spec"]["predictors"][0]["componentSpecs"][0]["spec"]["containers"]
    assert container["env"][-2:] == BATCH_ENV


def test_batching_over_the_seldon_protocol_is_refused() -> None:
    sklearn = Model(name="iris", platform=ModelFramework.SKLearn, uri="s3://models/iris", protocol=SeldonProtocol())

    with pytest.raises(DeployError, match=r"model 'iris': adaptive batching is MLServer's.*use the V2 protocol"):
        documents(sklearn, BATCHED)


def test_a_request_log_renders_seldons_logger_on_the_graph(
    seldon_schema: dict[str, Any], strict_seldon_schema: dict[str, Any]
) -> None:
    logged = FULL_OPTIONS.model_copy(update={"request_log": RequestLogOptions(url="http://logger.logs/")})

    (document,) = documents(standard_model(ModelFramework.SKLearn), logged)

    check_valid(document, seldon_schema, strict_seldon_schema)
    assert document["spec"]["predictors"][0]["graph"]["logger"] == {"mode": "all", "url": "http://logger.logs/"}
