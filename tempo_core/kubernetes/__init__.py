"""What the Kubernetes runtimes of plugins share: cluster options, server-side apply, readiness polling, labels.

Nothing here imports the `kubernetes` client at import time: it is loaded when a runtime first talks to a
cluster, so tempo-core does not depend on it (install it with the `tempo-core[kubernetes]` extra).
"""

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

__all__ = [
    "KubernetesOptions",
    "KubernetesRuntimeOptions",
    "ResourceRequirements",
    "KubernetesRuntime",
    "ResourceState",
    "ClusterClient",
    "CustomResource",
    "MANAGED_BY_LABEL",
    "MANAGER",
    "MODEL_LABEL",
    "MODEL_MOUNT_PATH",
    "ARTIFACT_ANNOTATION",
    "CHILDREN_ANNOTATION",
    "artifact_annotations",
    "labels_for",
    "metadata_for",
    "is_managed",
    "recorded_children",
    "storage_uri",
    "env_list",
    "batching_env",
    "cluster_logger",
    "resources_of",
]
