"""What Seldon Core's and KServe's operators make of an applied resource: its pod, its Service, its ingress route.

This is the emulated part of the cluster: the operators' resource-to-pod logic, written for tempo's tests from
what Seldon Core v1.17.1's operator (`operator/controllers/mlserver.go`, `model_initializer_injector.go`) and
KServe's controller and webhook (`inference_service_defaults.go`, the `kserve-mlserver` ClusterServingRuntime, the
storage initializer injector and its S3 credential builder) do for the resources tempo renders. The pods it
describes run for real (tempo_test_support.kubelet).

Covered: SeldonDeployments with one predictor whose graph is one MODEL node, protocol v2, on MLServer-based
prepackaged servers or a container the user names; InferenceServices with a `model` (a named or auto-selected
serving runtime) or one custom container. Not covered: Seldon's executor (the Service reaches the model's
container directly), multi-node graphs, explainers, canaries, transformers, Knative revisions and autoscaling,
resources, and any admission check beyond what is said below.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ContainerSpec",
    "Workload",
    "SeldonConfig",
    "ServingRuntime",
    "KServeConfig",
    "seldon_workload",
    "kserve_workload",
    "UnsupportedResource",
    "MODEL_MOUNT",
]

MODEL_MOUNT = "/mnt/models"
Lookup = Callable[[str, str], dict[str, Any] | None]  # (namespace, name) -> stored object


class UnsupportedResource(ValueError):
    """A resource the emulated operators cannot run, or one the real operator would refuse; the message says which."""


@dataclass(frozen=True)
class ContainerSpec:
    """One container of a pod, as the operator writes it: what the kubelet needs to run it."""

    name: str
    image: str
    args: tuple[str, ...] = ()
    command: tuple[str, ...] | None = None
    env: dict[str, str] = field(default_factory=dict)
    env_from_secrets: tuple[str, ...] = ()  # envFrom: secretRef
    secret_env: dict[str, tuple[str, str]] = field(default_factory=dict)  # env valueFrom: secretKeyRef (name, key)
    http_port: int | None = None
    readiness_path: str | None = None
    user: str | None = None  # runAsUser; None runs as the image's USER


@dataclass(frozen=True)
class Workload:
    """A resource's pod (one server container after its init containers), its Service and its ingress path."""

    name: str
    namespace: str
    init_containers: tuple[ContainerSpec, ...]
    container: ContainerSpec
    service: str
    service_port: int
    ingress_path: str


def _env(container: Mapping[str, Any]) -> dict[str, str]:
    """A container's plain `env` values (valueFrom entries are not supported by these emulations)."""
    values: dict[str, str] = {}
    for item in container.get("env") or []:
        if "valueFrom" in item:
            raise UnsupportedResource(f"env {item['name']}: valueFrom is not emulated; give the value itself")
        values[item["name"]] = str(item.get("value", ""))
    return values


# --- Seldon Core v1 ---------------------------------------------------------------------------------------------

SELDON_HTTP_PORT = 9000  # predictiveUnit.httpPort of the operator's Helm values
SELDON_GRPC_PORT = 9500
SELDON_EXECUTOR_PORT = 8000  # what the Service `<name>-<predictor>` exposes
# The MLServer runtime the operator names for each prepackaged server (mlserver.go).
SELDON_MLSERVER_IMPLEMENTATIONS = {
    "SKLEARN_SERVER": "mlserver_sklearn.SKLearnModel",
    "XGBOOST_SERVER": "mlserver_xgboost.XGBoostModel",
    "MLFLOW_SERVER": "mlserver_mlflow.MLflowRuntime",
    "TEMPO_SERVER": "tempo.mlserver.InferenceRuntime",
}


@dataclass(frozen=True)
class SeldonConfig:
    """The operator's configuration (the `seldon-config` ConfigMap): the v2 image of each prepackaged server, and the
    storage initializer image."""

    server_images: dict[str, str]
    storage_initializer: str


def seldon_workload(document: dict[str, Any], config: SeldonConfig) -> Workload:
    """The pod and Service Seldon Core's operator makes for a SeldonDeployment (see the module docstring)."""
    metadata, spec = document["metadata"], document["spec"]
    name, namespace = metadata["name"], metadata["namespace"]
    if spec.get("protocol") != "v2":
        raise UnsupportedResource(
            f"SeldonDeployment '{name}': protocol {spec.get('protocol')!r}; the emulation runs MLServer (protocol v2)"
        )
    predictors = spec["predictors"]
    if len(predictors) != 1:
        raise UnsupportedResource(f"SeldonDeployment '{name}': the emulation runs exactly one predictor")
    predictor = predictors[0]
    graph = predictor["graph"]
    if graph.get("children"):
        raise UnsupportedResource(f"SeldonDeployment '{name}': the emulation runs one-node graphs only")
    node = graph["name"]
    user = next(
        (
            container
            for component in predictor.get("componentSpecs") or []
            for container in (component.get("spec") or {}).get("containers") or []
            if container.get("name") == node
        ),
        {},
    )
    implementation = graph.get("implementation")
    image = user.get("image")
    operator_env: dict[str, str] = {}
    if implementation is not None:
        if implementation not in SELDON_MLSERVER_IMPLEMENTATIONS:
            raise UnsupportedResource(f"SeldonDeployment '{name}': implementation {implementation!r} is not emulated")
        image = image or config.server_images.get(implementation)
        operator_env = {
            "MLSERVER_HTTP_PORT": str(SELDON_HTTP_PORT),
            "MLSERVER_GRPC_PORT": str(SELDON_GRPC_PORT),
            "MLSERVER_MODEL_IMPLEMENTATION": SELDON_MLSERVER_IMPLEMENTATIONS[implementation],
            "MLSERVER_MODEL_NAME": node,
            "MLSERVER_MODEL_VERSION": "v1",
            "MLSERVER_MODEL_URI": MODEL_MOUNT,
            "TEMPO_RUNTIME_OPTIONS": json.dumps(
                {"k8s_options": {"defaultRuntime": "tempo.seldon.SeldonKubernetesRuntime", "namespace": namespace}}
            ),
        }
    if not image:
        raise UnsupportedResource(f"SeldonDeployment '{name}': the container '{node}' names no image")
    init: tuple[ContainerSpec, ...] = ()
    if graph.get("modelUri"):
        secret = graph.get("envSecretRefName")
        init = (
            ContainerSpec(
                name=f"{node}-model-initializer",
                image=config.storage_initializer,
                args=(graph["modelUri"], MODEL_MOUNT),
                env_from_secrets=(secret,) if secret else (),
            ),
        )
    # The user's env wins over the operator's (mergeMLServerContainer), in the operator's order.
    server = ContainerSpec(
        name=node,
        image=image,
        command=tuple(user["command"]) if user.get("command") else None,
        args=tuple(user.get("args") or ()),
        env={**operator_env, **_env(user)},
        http_port=SELDON_HTTP_PORT,
        readiness_path="/v2/health/ready",
    )
    return Workload(
        name=name,
        namespace=namespace,
        init_containers=init,
        container=server,
        service=f"{name}-{predictor['name']}",
        service_port=SELDON_EXECUTOR_PORT,
        ingress_path=f"/seldon/{namespace}/{name}",
    )


# --- KServe --------------------------------------------------------------------------------------------------------

KSERVE_HTTP_PORT = 8080
KSERVE_SERVICE_PORT = 80
# The MLServer runtime class KServe's defaulting labels an InferenceService with (`modelClass`), by model format.
KSERVE_MODEL_CLASSES = {
    "sklearn": "mlserver_sklearn.SKLearnModel",
    "xgboost": "mlserver_xgboost.XGBoostModel",
    "lightgbm": "mlserver_lightgbm.LightGBMModel",
    "mlflow": "mlserver_mlflow.MLflowRuntime",
}
_S3_ANNOTATIONS = {
    "serving.kserve.io/s3-endpoint": "S3_ENDPOINT",
    "serving.kserve.io/s3-usehttps": "S3_USE_HTTPS",
    "serving.kserve.io/s3-region": "AWS_DEFAULT_REGION",
    "serving.kserve.io/s3-verifyssl": "S3_VERIFY_SSL",
}


@dataclass(frozen=True)
class ServingRuntime:
    """A ClusterServingRuntime: the model formats it serves (with their priority for auto-selection), its image and
    the env of its container (`{{.Labels.modelClass}}` and `{{.Name}}` are filled in as KServe does)."""

    name: str
    formats: dict[str, int]
    image: str
    env: dict[str, str]
    protocols: tuple[str, ...] = ("v2",)


@dataclass(frozen=True)
class KServeConfig:
    """The cluster's serving runtimes and the storage initializer image (`inferenceservice-config`)."""

    runtimes: tuple[ServingRuntime, ...]
    storage_initializer: str


def kserve_workload(
    document: dict[str, Any], config: KServeConfig, service_accounts: Lookup, secrets: Lookup
) -> Workload:
    """The pod and Service KServe makes for an InferenceService (see the module docstring)."""
    metadata, predictor = document["metadata"], document["spec"]["predictor"]
    name, namespace = metadata["name"], metadata["namespace"]
    if predictor.get("containers"):
        server, uri = _custom_container(name, predictor["containers"])
    elif predictor.get("model"):
        server, uri = _runtime_container(name, metadata.get("labels") or {}, predictor["model"], config)
    else:
        raise UnsupportedResource(f"InferenceService '{name}': the predictor has neither a model nor containers")
    init: tuple[ContainerSpec, ...] = ()
    if uri:
        account = predictor.get("serviceAccountName") or "default"
        init = (
            ContainerSpec(
                name="storage-initializer",
                image=config.storage_initializer,
                args=(uri, MODEL_MOUNT),
                **_s3_credentials(namespace, account, service_accounts, secrets),
            ),
        )
    return Workload(
        name=name,
        namespace=namespace,
        init_containers=init,
        container=server,
        service=f"{name}-predictor",
        service_port=KSERVE_SERVICE_PORT,
        ingress_path=f"/serving/{namespace}/{name}",
    )


def _custom_container(name: str, containers: list[dict[str, Any]]) -> tuple[ContainerSpec, str | None]:
    """A custom predictor container; KServe injects the storage initializer when it has a STORAGE_URI env."""
    container = containers[0]
    if not container.get("image"):
        raise UnsupportedResource(f"InferenceService '{name}': the container names no image")
    env = _env(container)
    ports = [port.get("containerPort") for port in container.get("ports") or []]
    spec = ContainerSpec(
        name=container.get("name") or "kserve-container",
        image=container["image"],
        command=tuple(container["command"]) if container.get("command") else None,
        args=tuple(container.get("args") or ()),
        env=env,
        http_port=int(ports[0]) if ports else KSERVE_HTTP_PORT,
        readiness_path="/v2/health/ready",
    )
    return spec, env.get("STORAGE_URI")


def _runtime_container(
    name: str, labels: dict[str, str], model: dict[str, Any], config: KServeConfig
) -> tuple[ContainerSpec, str | None]:
    model_format = model["modelFormat"]["name"]
    protocol = model.get("protocolVersion", "v1")
    runtime = _select_runtime(name, model.get("runtime"), model_format, protocol, config)
    # SetMlServerDefaults: the model's name and mount, and the modelClass label the runtime's env is templated with.
    model_class = labels.get("modelClass") or KSERVE_MODEL_CLASSES.get(model_format, KSERVE_MODEL_CLASSES["sklearn"])
    env = {
        key: value.replace("{{.Labels.modelClass}}", model_class).replace("{{.Name}}", name)
        for key, value in runtime.env.items()
    }
    env.update({"MLSERVER_MODEL_NAME": name, "MLSERVER_MODEL_URI": MODEL_MOUNT, **_env(model)})
    spec = ContainerSpec(
        name="kserve-container",
        image=runtime.image,
        env=env,
        http_port=int(env.get("MLSERVER_HTTP_PORT", KSERVE_HTTP_PORT)),
        readiness_path="/v2/health/ready",
    )
    return spec, model.get("storageUri")


def _select_runtime(
    name: str, named: str | None, model_format: str, protocol: str, config: KServeConfig
) -> ServingRuntime:
    """The named runtime, or the one of highest priority for the format and protocol (as KServe auto-selects)."""
    if named is not None:
        for runtime in config.runtimes:
            if runtime.name == named:
                if model_format not in runtime.formats or protocol not in runtime.protocols:
                    raise UnsupportedResource(
                        f"InferenceService '{name}': runtime {named} does not support {model_format} over {protocol}"
                    )
                return runtime
        raise UnsupportedResource(f"InferenceService '{name}': no ClusterServingRuntime named {named!r}")
    candidates = [item for item in config.runtimes if model_format in item.formats and protocol in item.protocols]
    if not candidates:
        raise UnsupportedResource(f"InferenceService '{name}': no runtime serves {model_format} over {protocol}")
    return max(candidates, key=lambda item: item.formats[model_format])


def _s3_credentials(namespace: str, account: str, service_accounts: Lookup, secrets: Lookup) -> dict[str, Any]:
    """The storage initializer's env from the S3 Secrets its service account lists (KServe's credential builder)."""
    found = service_accounts(namespace, account) or {}
    env: dict[str, str] = {}
    secret_env: dict[str, tuple[str, str]] = {}
    for reference in found.get("secrets") or []:
        secret = secrets(namespace, reference["name"]) or {}
        if "AWS_ACCESS_KEY_ID" not in (secret.get("data") or {}):
            continue
        secret_env = {
            "AWS_ACCESS_KEY_ID": (reference["name"], "AWS_ACCESS_KEY_ID"),
            "AWS_SECRET_ACCESS_KEY": (reference["name"], "AWS_SECRET_ACCESS_KEY"),
        }
        annotations = (secret.get("metadata") or {}).get("annotations") or {}
        env = {variable: annotations[key] for key, variable in _S3_ANNOTATIONS.items() if key in annotations}
        if "S3_ENDPOINT" in env:
            scheme = "http" if env.get("S3_USE_HTTPS") == "0" else "https"
            env["AWS_ENDPOINT_URL"] = f"{scheme}://{env['S3_ENDPOINT']}"
        break
    return {"env": env, "secret_env": secret_env}
