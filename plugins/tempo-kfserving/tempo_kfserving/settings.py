"""MLServer's settings for one tempo model: `settings.json` and `model-settings.json` on this machine, `MLSERVER_*`
variables on a cluster."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import numpy as np

from tempo_core.errors import DeployError
from tempo_core.frameworks import ModelFramework
from tempo_core.kubernetes.manifests import MODEL_MOUNT_PATH
from tempo_core.model import Servable
from tempo_core.options import BatchingOptions
from tempo_core.signature import TensorSpec, ValueKind
from tempo_kfserving.codec import BINARY_EXTENSION, datatype_of

__all__ = [
    "write_server_settings",
    "write_model_settings",
    "implementation_for",
    "prepackaged_runtime",
    "TEMPO_IMPLEMENTATION",
    "REQUEST_LOG_ENV",
    "cluster_server_env",
]

TEMPO_IMPLEMENTATION = "tempo_kfserving.mlserver_runtime.TempoMLServerModel"
_PREPACKAGED_MODULE = "tempo_kfserving.prepackaged"
# MLServer's runtime for each standard framework, and what to install for it.
_PREPACKAGED = {
    ModelFramework.SKLearn: ("mlserver_sklearn.SKLearnModel", "tempo-kfserving[sklearn]"),
    ModelFramework.XGBoost: ("mlserver_xgboost.XGBoostModel", "tempo-kfserving[xgboost]"),
    ModelFramework.LightGBM: ("mlserver_lightgbm.LightGBMModel", "mlserver-lightgbm"),
    ModelFramework.MLFlow: ("mlserver_mlflow.MLflowRuntime", "mlserver-mlflow"),
}

# The launcher's request log reads its RequestLogOptions, as JSON, from this variable (tempo_kfserving.request_log).
REQUEST_LOG_ENV = "TEMPO_REQUEST_LOG"


def prepackaged_runtime(class_name: str) -> str | None:
    """The import path of MLServer's prepackaged runtime class named `class_name`, if tempo knows it."""
    for implementation, _ in _PREPACKAGED.values():
        if implementation.rsplit(".", 1)[1] == class_name:
            return implementation
    return None


def implementation_for(model: Servable) -> str:
    """The MLServer runtime class that serves the model: tempo's for custom code, MLServer's own otherwise,
    as `tempo_kfserving.prepackaged` serves it (channel, metadata off the artifact, 400 for bad requests).
    """
    platform = model.details.platform
    if platform.is_custom_code:
        return TEMPO_IMPLEMENTATION
    if platform not in _PREPACKAGED:
        raise DeployError(
            f"model '{model.name}': MLServer has no runtime for {platform.name} artifacts; serve it on a "
            "Kubernetes runtime (Triton, TensorFlow Serving) or wrap it in a @model"
        )
    implementation, distribution = _PREPACKAGED[platform]
    if importlib.util.find_spec(implementation.split(".")[0]) is None:
        raise DeployError(
            f"model '{model.name}' is a {platform.name} artifact, served by MLServer's {implementation}, which "
            f"is not installed; install it with: pip install '{distribution}'"
        )
    return f"{_PREPACKAGED_MODULE}.{implementation.rsplit('.', 1)[1]}"


# What `GET /v2/models/{name}` reports per value kind, unless an array's spec gives its dtype and shape. Arrays
# accept any numeric datatype; FP64 is what MLServer's metadata needs to name one.
_METADATA = {
    ValueKind.ndarray: ("FP64", [-1], None),
    ValueKind.str: ("BYTES", [1], "str"),
    ValueKind.bytes: ("BYTES", [1], "base64"),
    ValueKind.int: ("INT64", [1], None),
    ValueKind.float: ("FP64", [1], None),
    ValueKind.bool: ("BOOL", [1], None),
    ValueKind.json: ("BYTES", [1], "json"),
}


def _metadata(spec: TensorSpec) -> dict[str, Any]:
    datatype, shape, content_type = _METADATA[spec.kind]
    if spec.dtype is not None:
        datatype = datatype_of(np.dtype(spec.dtype)) or "BYTES"
    if spec.shape is not None:
        shape = list(spec.shape)
    entry: dict[str, Any] = {"name": spec.name, "datatype": datatype, "shape": shape}
    if content_type:
        entry["parameters"] = {"content_type": content_type}
    return entry


_GRPC_MAX_MESSAGE = 2**30


def _write_json(path: Path, content: dict[str, Any]) -> None:
    path.write_text(json.dumps(content, indent=2))


def write_server_settings(
    workdir: Path, *, host: str, http_port: int, grpc_port: int, metrics_port: int | None, parallel_workers: int
) -> None:
    """Write MLServer's `settings.json` into `workdir`, which is also its model repository; Prometheus metrics are
    served at `/metrics` on `metrics_port` (none without one)."""
    # Measured: the debug access log and a worker pool halve the req/s of small models, and
    # metrics and the environments folder are written into the working directory.
    _write_json(
        workdir / "settings.json",
        {
            "debug": False,
            "host": host,
            "http_port": http_port,
            "grpc_port": grpc_port,
            # gRPC's default limit is 4 MiB per message; tensors are often larger.
            "grpc_max_message_length": _GRPC_MAX_MESSAGE,
            "metrics_endpoint": "/metrics" if metrics_port else None,
            **({"metrics_port": metrics_port} if metrics_port else {}),
            "metrics_dir": str(workdir / ".metrics"),
            "environments_dir": str(workdir / ".envs"),
            "parallel_workers": parallel_workers,
            "load_models_at_startup": True,
            # Served by tempo's launcher (tempo_kfserving.server), which takes the REST binary extension.
            "extensions": [BINARY_EXTENSION],
            "model_repository_root": str(workdir),
        },
    )


def write_model_settings(
    workdir: Path,
    model: Servable,
    artifact_folder: Path,
    extra: dict[str, Any],
    batching: BatchingOptions | None = None,
) -> None:
    """Write one model's `model-settings.json` into its own folder of the repository in `workdir`, with MLServer's
    adaptive batching when `batching` is given."""
    model_dir = workdir / model.name
    model_dir.mkdir(exist_ok=True)
    _write_json(
        model_dir / "model-settings.json",
        {
            "name": model.name,
            "implementation": implementation_for(model),
            "parameters": {"uri": str(artifact_folder), "extra": extra},
            "inputs": [_metadata(spec) for spec in model.signature.inputs],
            "outputs": [_metadata(spec) for spec in model.signature.outputs],
            **(batching.model_dump() if batching is not None else {}),
        },
    )


def cluster_server_env(model: Servable, child_endpoints: dict[str, str]) -> dict[str, str]:
    """The environment that makes an MLServer image serve a custom model's artifact with tempo's runtime.

    MLServer reads a model's settings from `MLSERVER_MODEL_*` variables when its model folder has no
    `model-settings.json`; a pipeline finds its children at `child_endpoints` (model name -> base URL).
    """
    env = {
        "MLSERVER_MODEL_IMPLEMENTATION": TEMPO_IMPLEMENTATION,
        "MLSERVER_MODEL_NAME": model.name,
        "MLSERVER_MODEL_URI": MODEL_MOUNT_PATH,
        # Measured on MLServer 1.7.1: the debug access log and a worker pool halve the req/s of small models.
        "MLSERVER_DEBUG": "false",
        "MLSERVER_PARALLEL_WORKERS": "0",
    }
    if child_endpoints:
        env["MLSERVER_MODEL_EXTRA"] = json.dumps({"child_endpoints": child_endpoints}, sort_keys=True)
    return env
