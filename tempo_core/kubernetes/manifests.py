"""What every cluster manifest of a tempo model shares: its labels, its order, its artifact's URI, its server's env."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tempo_core.artifact import artifact_digest
from tempo_core.errors import DeployError
from tempo_core.model import Servable
from tempo_core.options import BatchingOptions, RequestLogOptions, RuntimeOptions
from tempo_core.pipeline import children_of, servables_in_order

__all__ = [
    "ARTIFACT_ANNOTATION",
    "artifact_annotations",
    "MANAGED_BY_LABEL",
    "MANAGER",
    "MODEL_LABEL",
    "MODEL_MOUNT_PATH",
    "CHILDREN_ANNOTATION",
    "labels_for",
    "metadata_for",
    "managed_selector",
    "is_managed",
    "recorded_children",
    "storage_uri",
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
# On a pipeline's resource: its children's names (JSON), so that undeploying the pipeline by name removes them too.
CHILDREN_ANNOTATION = "tempo.io/children"


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


def metadata_for(model: Servable, namespace: str) -> dict[str, Any]:
    """A model's resource's `metadata`: its name, namespace and labels, and for a pipeline its children's names."""
    metadata: dict[str, Any] = {"name": model.name, "namespace": namespace, "labels": labels_for(model)}
    children = [child.name for child in children_of(model)]
    if children:
        metadata["annotations"] = {CHILDREN_ANNOTATION: json.dumps(children)}
    return metadata


def managed_selector() -> str:
    """The label selector of every resource tempo applied."""
    return f"{MANAGED_BY_LABEL}={MANAGER}"


def is_managed(resource: dict[str, Any]) -> bool:
    """Whether tempo applied the resource (it carries tempo's managed-by label)."""
    return bool(resource.get("metadata", {}).get("labels", {}).get(MANAGED_BY_LABEL) == MANAGER)


def recorded_children(resource: dict[str, Any]) -> list[str]:
    """The names of the children a pipeline's applied resource records; none for a model."""
    annotation = resource.get("metadata", {}).get("annotations", {}).get(CHILDREN_ANNOTATION)
    return list(json.loads(annotation)) if annotation else []


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
