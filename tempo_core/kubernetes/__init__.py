"""What the Kubernetes runtimes of plugins share: cluster options, server-side apply, readiness polling, labels.

Nothing here imports the `kubernetes` client at import time: it is loaded when a runtime first talks to a
cluster, so tempo-core does not depend on it (install it with the `tempo-core[kubernetes]` extra). The names below
are imported on first use: a model's server reads a few constants from `manifests` and never runs a cluster.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tempo_core.lazy import exports

# ruff: noqa: F401 (the names below are for type checkers; at run time they are exported from _EXPORTS)
if TYPE_CHECKING:
    from tempo_core.kubernetes.client import ClusterClient, CustomResource
    from tempo_core.kubernetes.manifests import (
        ARTIFACT_ANNOTATION,
        CHILDREN_ANNOTATION,
        MANAGED_BY_LABEL,
        MANAGER,
        MODEL_LABEL,
        MODEL_MOUNT_PATH,
        artifact_annotations,
        batching_env,
        cluster_logger,
        env_list,
        is_managed,
        labels_for,
        metadata_for,
        recorded_children,
        resources_of,
        storage_uri,
    )
    from tempo_core.kubernetes.options import KubernetesOptions, KubernetesRuntimeOptions, ResourceRequirements
    from tempo_core.kubernetes.runtime import KubernetesRuntime, ResourceState

# Each exported name, by the module that defines it.
_EXPORTS = {
    "KubernetesOptions": "tempo_core.kubernetes.options",
    "KubernetesRuntimeOptions": "tempo_core.kubernetes.options",
    "ResourceRequirements": "tempo_core.kubernetes.options",
    "KubernetesRuntime": "tempo_core.kubernetes.runtime",
    "ResourceState": "tempo_core.kubernetes.runtime",
    "ClusterClient": "tempo_core.kubernetes.client",
    "CustomResource": "tempo_core.kubernetes.client",
    "MANAGED_BY_LABEL": "tempo_core.kubernetes.manifests",
    "MANAGER": "tempo_core.kubernetes.manifests",
    "MODEL_LABEL": "tempo_core.kubernetes.manifests",
    "MODEL_MOUNT_PATH": "tempo_core.kubernetes.manifests",
    "ARTIFACT_ANNOTATION": "tempo_core.kubernetes.manifests",
    "CHILDREN_ANNOTATION": "tempo_core.kubernetes.manifests",
    "artifact_annotations": "tempo_core.kubernetes.manifests",
    "labels_for": "tempo_core.kubernetes.manifests",
    "metadata_for": "tempo_core.kubernetes.manifests",
    "is_managed": "tempo_core.kubernetes.manifests",
    "recorded_children": "tempo_core.kubernetes.manifests",
    "storage_uri": "tempo_core.kubernetes.manifests",
    "env_list": "tempo_core.kubernetes.manifests",
    "batching_env": "tempo_core.kubernetes.manifests",
    "cluster_logger": "tempo_core.kubernetes.manifests",
    "resources_of": "tempo_core.kubernetes.manifests",
}

__all__ = list(_EXPORTS)

__getattr__, __dir__ = exports(__name__, _EXPORTS)
