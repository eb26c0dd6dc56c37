"""SeldonDeploymentGenerator: the SeldonDeployment (machinelearning.seldon.io/v1) that serves a tempo model.

Standard artifacts run on Seldon Core's prepackaged server for their framework, which downloads `modelUri` with the
credentials in the Secret `envSecretRefName`. Custom models and pipelines run on `TEMPO_SERVER`, Seldon Core's
prepackaged MLServer, whose container tempo sets: the stock MLServer image (`mlserverImage`), which activates the
`environment.tar.gz` that `upload()` put in the artifact, or an image tempo built from the model's environment
(`serverImage`); and the env that makes MLServer load tempo's runtime. A pipeline's children each get their own
SeldonDeployment, listed before the pipeline's, and the pipeline reaches them at their in-cluster service.
"""

from __future__ import annotations

from typing import Any

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
from tempo_kfserving.settings import cluster_server_env
from tempo_seldon.endpoints import PREDICTOR, in_cluster_endpoint, service_name

__all__ = ["SeldonDeploymentGenerator", "SELDON_DEPLOYMENT", "implementation_for"]

SELDON_DEPLOYMENT = CustomResource("machinelearning.seldon.io", "v1", "seldondeployments", "SeldonDeployment")
TEMPO_SERVER = "TEMPO_SERVER"
_MAX_NAME = 63
# Seldon Core's prepackaged server for each framework, by wire protocol ("v2" is the Open Inference Protocol).
# TensorFlow Serving does not speak V2, so V2 TensorFlow models run on Triton; Triton speaks nothing else.
_PREPACKAGED: dict[ModelFramework, dict[str, str]] = {
    ModelFramework.SKLearn: {"v2": "SKLEARN_SERVER", "seldon": "SKLEARN_SERVER"},
    ModelFramework.XGBoost: {"v2": "XGBOOST_SERVER", "seldon": "XGBOOST_SERVER"},
    ModelFramework.MLFlow: {"v2": "MLFLOW_SERVER", "seldon": "MLFLOW_SERVER"},
    ModelFramework.TensorFlow: {"v2": "TRITON_SERVER", "seldon": "TENSORFLOW_SERVER"},
    ModelFramework.ONNX: {"v2": "TRITON_SERVER"},
    ModelFramework.PyTorch: {"v2": "TRITON_SERVER"},
    ModelFramework.Triton: {"v2": "TRITON_SERVER"},
}


def wire_protocol(model: Servable) -> str:
    """The SeldonDeployment `protocol` of the model: `seldon` for the Seldon protocol, `v2` for the default."""
    name = model.protocol.name if model.protocol is not None else "v2"
    if name not in ("v2", "seldon"):
        raise DeployError(
            f"model '{model.name}' uses the '{name}' protocol; Seldon Core serves the V2 protocol (the default) or "
            "SeldonProtocol()"
        )
    return name


def implementation_for(model: Servable, protocol: str) -> str:
    """The prepackaged server that runs the model under `protocol`."""
    platform = model.details.platform
    if platform.is_custom_code:
        if protocol != "v2":
            raise DeployError(
                f"model '{model.name}' is custom code, which tempo serves with MLServer over the V2 protocol only; "
                "leave its protocol unset"
            )
        return TEMPO_SERVER
    servers = _PREPACKAGED.get(platform, {})
    if protocol not in servers:
        offered = " or ".join(servers) or "no protocol"
        raise DeployError(
            f"model '{model.name}': Seldon Core serves {platform.name} artifacts over {offered}, not '{protocol}'; "
            "change the model's protocol, or wrap the artifact in a @model"
        )
    return servers[protocol]


def _remote(options: RuntimeOptions) -> KubernetesOptions:
    if not isinstance(options, KubernetesRuntimeOptions):
        raise DeployError(f"a SeldonDeployment is rendered from SeldonCoreOptions(...), got {type(options).__name__}")
    return options.remote_options


class SeldonDeploymentGenerator(ManifestGenerator):
    """Renders a model's SeldonDeployment, and its children's before it for a pipeline."""

    def render(self, model: Servable, options: RuntimeOptions) -> list[dict[str, Any]]:
        """One SeldonDeployment per model, children first, each named after its model."""
        remote = _remote(options)
        return [
            self.deployment(resource.servable, remote, resource.batching, resource.logger)
            for resource in resources_of(model, options)
        ]

    def deployment(
        self,
        model: Servable,
        remote: KubernetesOptions,
        batching: BatchingOptions | None = None,
        logger: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """The SeldonDeployment of one model (a pipeline's children are rendered separately), with MLServer's
        adaptive batching when `batching` is given and Seldon Core's request logger when `logger` is."""
        if len(service_name(model.name)) > _MAX_NAME:
            raise DeployError(
                f"model '{model.name}': Seldon Core would name its service '{service_name(model.name)}', longer than "
                f"{_MAX_NAME} characters; shorten the model's name to {_MAX_NAME - len(PREDICTOR) - 1} characters"
            )
        protocol = wire_protocol(model)
        if batching is not None and protocol == "seldon":
            raise DeployError(
                f"model '{model.name}': adaptive batching is MLServer's, and the Seldon protocol is served by "
                "seldon-core's microservice; use the V2 protocol (leave protocol= unset) or drop batching="
            )
        graph: dict[str, Any] = {
            "name": model.name,
            "type": "MODEL",
            "implementation": implementation_for(model, protocol),
            "modelUri": storage_uri(model),
        }
        if remote.authSecretName:
            graph["envSecretRefName"] = remote.authSecretName
        if remote.serviceAccountName:
            graph["serviceAccountName"] = remote.serviceAccountName
        if logger is not None:
            graph["logger"] = logger
        predictor: dict[str, Any] = {"name": PREDICTOR, "replicas": remote.replicas, "graph": graph}
        container = self._container(model, remote)
        if batching is not None:
            container["env"] = [*container.get("env", []), *env_list(batching_env(batching))]
        annotations = artifact_annotations(model)
        if len(container) > 1 or remote.serviceAccountName or annotations:
            pod: dict[str, Any] = {"containers": [container]}
            if remote.serviceAccountName:
                pod = {"serviceAccountName": remote.serviceAccountName, **pod}
            component: dict[str, Any] = {"metadata": {"annotations": annotations}} if annotations else {}
            predictor["componentSpecs"] = [{**component, "spec": pod}]
        return {
            "apiVersion": SELDON_DEPLOYMENT.api_version,
            "kind": SELDON_DEPLOYMENT.kind,
            "metadata": metadata_for(model, remote.namespace),
            "spec": {"protocol": protocol, "predictors": [predictor]},
        }

    def _container(self, model: Servable, remote: KubernetesOptions) -> dict[str, Any]:
        """The model's container as far as tempo sets it; Seldon Core merges it into the server's container."""
        container: dict[str, Any] = {"name": model.name}
        if model.details.platform.is_custom_code:
            # Named, not left to the cluster's TEMPO_SERVER default: the environment is built for this image's Python.
            container["image"] = remote.serverImage or remote.mlserverImage
            children = children_of(model)
            endpoints = {child.name: in_cluster_endpoint(child.name, remote.namespace) for child in children}
            container["env"] = env_list(cluster_server_env(model, endpoints))
        if remote.resources is not None:
            container["resources"] = remote.resources.as_manifest()
        return container
