"""What every cluster manifest of a tempo model shares: its labels, its order, its artifact's URI, its server's env."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from tempo_core.artifact import artifact_digest
from tempo_core.errors import DeployError
from tempo_core.model import Servable
from tempo_core.options import BatchingOptions, RequestLogOptions, RuntimeOptions
from tempo_core.pipeline import servables_in_order

__all__ = [
    "ARTIFACT_ANNOTATION",
    "artifact_annotations",
    "MANAGED_BY_LABEL",
    "MANAGER",
    "MODEL_LABEL",
    "MODEL_MOUNT_PATH",
    "TEMPO_SERVER_IMPLEMENTATION",
    "labels_for",
    "managed_selector",
    "storage_uri",
    "tempo_server_env",
    "env_list",
    "batching_env",
    "cluster_logger",
    "Resource",
    "resources_of",
]

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGER = "tempo"
MODEL_LABEL = "tempo.io/model"
ARTIFACT_ANNOTATION = "tempo.io/artifact-sha256"
# Where Seldon Core's and KServe's storage initializers put the artifact they download.
MODEL_MOUNT_PATH = "/mnt/models"
# tempo's MLServer runtime (in tempo-kfserving), which the server image of custom models must have installed.
TEMPO_SERVER_IMPLEMENTATION = "tempo_kfserving.mlserver_runtime.TempoMLServerModel"


def artifact_annotations(model: Servable) -> dict[str, str]:
    """The annotation that puts the saved artifact's digest in the pod template, so that a model saved and uploaded
    again changes its resource and the operator replaces its pods (they download the artifact when they start).
    Nothing for a folder never saved, so manifests for GitOps render without artifacts."""
    folder = model.details.local_folder
    digest = artifact_digest(folder) if folder else None
    return {ARTIFACT_ANNOTATION: digest} if digest else {}


def labels_for(model: Servable) -> dict[str, str]:
    """The labels that mark a resource as tempo's and name the model it serves, for `list()` and `kubectl -l`."""
    return {MANAGED_BY_LABEL: MANAGER, MODEL_LABEL: model.name}


def managed_selector() -> str:
    """The label selector of every resource tempo applied."""
    return f"{MANAGED_BY_LABEL}={MANAGER}"


def storage_uri(model: Servable) -> str:
    """The remote URI the cluster downloads the model's artifact from; never a path on this machine."""
    uri = model.details.uri
    if not uri:
        raise DeployError(
            f"model '{model.name}' has no uri, so a cluster cannot download it; set uri='s3://bucket/path' (or gs://, "
            "or an rclone remote) where the model is defined, then upload(model)"
        )
    scheme = urlsplit(uri).scheme
    if scheme in ("", "file") or len(scheme) == 1:  # a one-letter scheme is a Windows drive
        raise DeployError(
            f"model '{model.name}' has the local uri {uri!r}, which a cluster cannot read; upload it to object "
            "storage (s3://, gs://) and set that as its uri"
        )
    return uri


def tempo_server_env(model: Servable, child_endpoints: dict[str, str]) -> dict[str, str]:
    """The environment that makes an MLServer image serve a custom model's artifact with tempo's runtime.

    MLServer reads a model's settings from `MLSERVER_MODEL_*` variables when its model folder has no
    `model-settings.json`; a pipeline finds its children at `child_endpoints` (model name -> base URL).
    """
    env = {
        "MLSERVER_MODEL_IMPLEMENTATION": TEMPO_SERVER_IMPLEMENTATION,
        "MLSERVER_MODEL_NAME": model.name,
        "MLSERVER_MODEL_URI": MODEL_MOUNT_PATH,
        # Measured on MLServer 1.7.1: the debug access log and a worker pool halve the req/s of small models.
        "MLSERVER_DEBUG": "false",
        "MLSERVER_PARALLEL_WORKERS": "0",
    }
    if child_endpoints:
        env["MLSERVER_MODEL_EXTRA"] = json.dumps({"child_endpoints": child_endpoints}, sort_keys=True)
    return env


def batching_env(batching: BatchingOptions | None) -> dict[str, str]:
    """The `MLSERVER_MODEL_*` variables that give a model MLServer's adaptive batching; none without batching."""
    if batching is None:
        return {}
    return {
        "MLSERVER_MODEL_MAX_BATCH_SIZE": str(batching.max_batch_size),
        "MLSERVER_MODEL_MAX_BATCH_TIME": str(batching.max_batch_time),
    }


def cluster_logger(request_log: RequestLogOptions | None, model: Servable) -> dict[str, str] | None:
    """The `logger` (mode and url) that Seldon Core's and KServe's own request loggers take; None without one.

    The clusters' loggers send every request, so a sample below 1 is refused rather than silently widened."""
    if request_log is None:
        return None
    if request_log.sample < 1:
        raise DeployError(
            f"model '{model.name}': the cluster's request logger sends every request, but request_log.sample is "
            f"{request_log.sample}; set sample=1.0 for cluster options (sampling is for tempo's own servers)"
        )
    return {"mode": request_log.mode, "url": request_log.url}


@dataclass(frozen=True)
class Resource:
    """One model the options put on the cluster, with what its resource carries beyond the model itself."""

    servable: Servable
    batching: BatchingOptions | None
    logger: dict[str, str] | None


def resources_of(model: Servable, options: RuntimeOptions) -> list[Resource]:
    """Every model the options deploy, children first: each with the clusters' request logger, the deployed model
    alone with the adaptive batching (a pipeline's children are not batched)."""
    return [
        Resource(
            servable,
            options.batching if servable.name == model.name else None,
            cluster_logger(options.request_log, servable),
        )
        for servable in servables_in_order(model)
    ]


def env_list(env: dict[str, str]) -> list[dict[str, str]]:
    """A container's `env` list from a mapping, in the mapping's order."""
    return [{"name": name, "value": value} for name, value in env.items()]
