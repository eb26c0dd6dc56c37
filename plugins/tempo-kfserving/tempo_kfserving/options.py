"""KFServingOptions: deploy to KServe on Kubernetes."""

from __future__ import annotations

from typing import ClassVar

from tempo_core.kubernetes import KubernetesRuntimeOptions

__all__ = ["KFServingOptions"]


class KFServingOptions(KubernetesRuntimeOptions):
    """Options of the `kserve-k8s` runtime, e.g. `KFServingOptions(remote_options={"namespace": "production",
    "serviceAccountName": "minio-reader"})`; `remote_options` takes every field of
    `tempo_core.kubernetes.KubernetesOptions`.

    KServe's storage initializer finds credentials through the predictor's service account, not a Secret's name:
    `tempo_kfserving.storage_credentials_manifests` renders a Secret and a service account that lists it.
    """

    manifest_target: ClassVar[str | None] = "kserve-inferenceservice"
