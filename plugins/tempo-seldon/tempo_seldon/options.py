"""SeldonCoreOptions: deploy to Seldon Core on Kubernetes."""

from __future__ import annotations

from typing import ClassVar

from tempo_core.kubernetes import KubernetesRuntimeOptions

__all__ = ["SeldonCoreOptions"]


class SeldonCoreOptions(KubernetesRuntimeOptions):
    """Options of the `seldon-k8s` runtime, e.g. `SeldonCoreOptions(remote_options={"namespace": "production",
    "authSecretName": "minio-secret"})`; `remote_options` takes every field of
    `tempo_core.kubernetes.KubernetesOptions`.
    """

    manifest_target: ClassVar[str | None] = "seldon-deployment"
