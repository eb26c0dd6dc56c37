"""InferenceServiceGenerator: the InferenceService (serving.kserve.io/v1beta1) that serves a tempo model.

Standard artifacts name their `modelFormat`, `storageUri` and `protocolVersion: v2`; those MLServer serves (sklearn,
xgboost, lightgbm, mlflow) also name the `kserve-mlserver` runtime, since KServe would otherwise choose by priority
among its runtimes, and its own sklearn server answers with other output names than MLServer's. Custom models and
pipelines run in a custom container: the stock MLServer image (`mlserverImage`), which activates the
`environment.tar.gz` that `upload()` put in the artifact, or an image tempo built from the model's environment
(`serverImage`); its env tells MLServer to load, with tempo's runtime, the artifact KServe's storage initializer
downloads from `STORAGE_URI` to /mnt/models. A pipeline's children each get their own InferenceService, listed
before the pipeline's.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tempo_core.errors import DeployError
from tempo_core.frameworks import ModelFramework
from tempo_core.kubernetes import (
    CustomResource,
    KubernetesOptions,
    KubernetesRuntimeOptions,
    artifact_annotations,
    batching_env,
    env_list,
    metadata_for,
    resources_of,
    storage_uri,
)
from tempo_core.manifest import ManifestGenerator
from tempo_core.model import Servable
from tempo_core.options import BatchingOptions, RuntimeOptions
from tempo_core.pipeline import children_of
from tempo_kfserving.endpoints import in_cluster_endpoint, service_name
from tempo_kfserving.settings import cluster_server_env

__all__ = ["InferenceServiceGenerator", "INFERENCE_SERVICE", "MODEL_FORMATS"]

INFERENCE_SERVICE = CustomResource("serving.kserve.io", "v1beta1", "inferenceservices", "InferenceService")
# KServe's model format names, which its serving runtimes declare they support.
MODEL_FORMATS = {
    ModelFramework.SKLearn: "sklearn",
    ModelFramework.XGBoost: "xgboost",
    ModelFramework.LightGBM: "lightgbm",
    ModelFramework.MLFlow: "mlflow",
    ModelFramework.ONNX: "onnx",
    ModelFramework.TensorFlow: "tensorflow",
    ModelFramework.PyTorch: "pytorch",
    ModelFramework.Triton: "triton",
}
# The URI schemes KServe's storage initializer downloads (it does not read rclone remotes).
STORAGE_SCHEMES = ("s3", "gs", "hdfs", "webhdfs", "http", "https", "pvc", "hf", "oci")
# The ClusterServingRuntime KServe ships for MLServer, and the formats it serves.
MLSERVER_RUNTIME = "kserve-mlserver"
MLSERVER_FORMATS = frozenset({"sklearn", "xgboost", "lightgbm", "mlflow"})
CONTAINER_NAME = "kserve-container"  # the name KServe gives, and expects of, the serving container
HTTP_PORT = "8080"  # the port KServe sends a custom container's traffic to
_MAX_NAME = 63


def _remote(options: RuntimeOptions) -> KubernetesOptions:
    if not isinstance(options, KubernetesRuntimeOptions):
        raise DeployError(f"an InferenceService is rendered from KFServingOptions(...), got {type(options).__name__}")
    remote = options.remote_options
    if remote.authSecretName:
        raise DeployError(
            f"KServe finds storage credentials through the predictor's service account, not a Secret's name "
            f"('{remote.authSecretName}'); set remote_options serviceAccountName to an account that lists the Secret "
            "(tempo_kfserving.storage_credentials_manifests renders both) and drop authSecretName"
        )
    return remote


class InferenceServiceGenerator(ManifestGenerator):
    """Renders a model's InferenceService, and its children's before it for a pipeline."""

    def render(self, model: Servable, options: RuntimeOptions) -> list[dict[str, Any]]:
        """One InferenceService per model, children first, each named after its model."""
        remote = _remote(options)
        return [
            self.inference_service(resource.servable, remote, resource.batching, resource.logger)
            for resource in resources_of(model, options)
        ]

    def inference_service(
        self,
        model: Servable,
        remote: KubernetesOptions,
        batching: BatchingOptions | None = None,
        logger: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """The InferenceService of one model (a pipeline's children are rendered separately), with MLServer's
        adaptive batching when `batching` is given and KServe's request logger when `logger` is."""
        if len(service_name(model.name)) > _MAX_NAME:
            raise DeployError(
                f"model '{model.name}': KServe would name its service '{service_name(model.name)}', longer than "
                f"{_MAX_NAME} characters; shorten the model's name"
            )
        protocol = model.protocol.name if model.protocol is not None else "v2"
        if protocol != "v2":
            raise DeployError(
                f"model '{model.name}' uses the '{protocol}' protocol; tempo serves KServe models over the V2 "
                "protocol only, so leave its protocol unset"
            )
        uri = storage_uri(model)
        if urlsplit(uri).scheme not in STORAGE_SCHEMES:
            raise DeployError(
                f"model '{model.name}': KServe cannot download {uri!r}; it reads {', '.join(STORAGE_SCHEMES)} URIs, "
                "not rclone remotes"
            )
        predictor: dict[str, Any] = {}
        annotations = artifact_annotations(model)
        if annotations:
            predictor["annotations"] = annotations
        if remote.serviceAccountName:
            predictor["serviceAccountName"] = remote.serviceAccountName
        predictor["minReplicas"] = remote.replicas
        predictor["maxReplicas"] = max(remote.replicas, 1)
        if logger is not None:
            predictor["logger"] = logger
        if model.details.platform.is_custom_code:
            predictor["containers"] = [self._server_container(model, uri, remote, batching)]
        else:
            predictor["model"] = self._model_spec(model, uri, remote, batching)
        return {
            "apiVersion": INFERENCE_SERVICE.api_version,
            "kind": INFERENCE_SERVICE.kind,
            "metadata": metadata_for(model, remote.namespace),
            "spec": {"predictor": predictor},
        }

    def _model_spec(
        self, model: Servable, uri: str, remote: KubernetesOptions, batching: BatchingOptions | None
    ) -> dict[str, Any]:
        platform = model.details.platform
        if platform not in MODEL_FORMATS:
            raise DeployError(
                f"model '{model.name}': KServe has no serving runtime for {platform.name} artifacts; wrap them in a "
                "@model"
            )
        model_format = MODEL_FORMATS[platform]
        spec: dict[str, Any] = {"modelFormat": {"name": model_format}}
        if model_format in MLSERVER_FORMATS:
            spec["runtime"] = MLSERVER_RUNTIME
        spec.update({"protocolVersion": "v2", "storageUri": uri})
        if batching is not None:
            if model_format not in MLSERVER_FORMATS:
                raise DeployError(
                    f"model '{model.name}': adaptive batching is MLServer's, and KServe serves {platform.name} "
                    "artifacts with another server; drop batching= from the options"
                )
            spec["env"] = env_list(batching_env(batching))
        if remote.resources is not None:
            spec["resources"] = remote.resources.as_manifest()
        return spec

    def _server_container(
        self, model: Servable, uri: str, remote: KubernetesOptions, batching: BatchingOptions | None
    ) -> dict[str, Any]:
        children = children_of(model)
        endpoints = {child.name: in_cluster_endpoint(child.name, remote.namespace) for child in children}
        env = {
            "STORAGE_URI": uri,
            "MLSERVER_HTTP_PORT": HTTP_PORT,
            **cluster_server_env(model, endpoints),
            **batching_env(batching),
        }
        image = remote.serverImage or remote.mlserverImage
        container: dict[str, Any] = {"name": CONTAINER_NAME, "image": image, "env": env_list(env)}
        if remote.resources is not None:
            container["resources"] = remote.resources.as_manifest()
        return container
