"""Options of the Kubernetes runtimes: the namespace, credentials, replicas and resources a model runs with."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tempo_core.options import RuntimeOptions

if TYPE_CHECKING:
    from tempo_core.environment.target import ServerTarget

__all__ = ["KubernetesOptions", "KubernetesRuntimeOptions", "ResourceRequirements", "DNS_LABEL", "DNS_SUBDOMAIN"]

# Names of namespaces (DNS-1123 labels) and of most other objects (DNS-1123 subdomains).
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# The pattern the CRD schemas give resource quantities ("500m", "1Gi", "2").
_QUANTITY = re.compile(
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)


class ResourceRequirements(BaseModel):
    """CPU, memory and other resources of a model's container, as Kubernetes quantities: `{"cpu": "500m"}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    requests: dict[str, str | int] = {}
    limits: dict[str, str | int] = {}

    @field_validator("requests", "limits")
    @classmethod
    def _quantities(cls, values: dict[str, str | int]) -> dict[str, str | int]:
        for resource, quantity in values.items():
            if isinstance(quantity, str) and not _QUANTITY.match(quantity):
                raise ValueError(
                    f"{resource}: {quantity!r} is not a Kubernetes quantity; write e.g. '500m', '2' or '1Gi'"
                )
        return values

    def as_manifest(self) -> dict[str, dict[str, str | int]]:
        """The `resources` member of a container, without empty parts."""
        return {key: dict(value) for key, value in (("requests", self.requests), ("limits", self.limits)) if value}


class KubernetesOptions(BaseModel):
    """Where and how a model runs on a cluster; the `remote_options` of SeldonCoreOptions and KFServingOptions.

    Field names follow Kubernetes (camelCase), as in `{"namespace": "production", "authSecretName": "minio-secret"}`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    namespace: str = "default"
    authSecretName: str | None = Field(
        default=None, description="The Secret with the storage credentials the model's artifact is downloaded with."
    )
    serviceAccountName: str | None = Field(default=None, description="The service account the model's pods run as.")
    replicas: int = Field(
        default=1, ge=0, description="How many pods serve the model (on KServe, 0 lets it scale to zero)."
    )
    resources: ResourceRequirements | None = None
    serverImage: str | None = Field(
        default=None,
        description="An image tempo built (`tempo docker build-image --push REGISTRY/NAME:TAG`) that holds the "
        "model's environment and serves /mnt/models; with it no environment.tar.gz is needed.",
    )
    mlserverImage: str = Field(
        default="docker.io/seldonio/mlserver:1.7.1",
        description="The stock MLServer image that custom models run on when serverImage is not set; it activates "
        "the artifact's environment.tar.gz.",
    )
    serverPythonVersion: str = Field(
        default="3.10",
        description="The CPython (major.minor) of mlserverImage, which upload() builds environment.tar.gz for.",
    )
    serverPlatform: str = Field(
        default="linux_x86_64",
        description="The platform of mlserverImage (linux_x86_64 or linux_aarch64), which upload() builds "
        "environment.tar.gz for.",
    )
    ingressBaseUrl: str | None = Field(
        default=None,
        description="The cluster ingress's base URL, for calling models from outside the cluster; without it, "
        "models are called at their in-cluster service address.",
    )
    readyTimeout: float = Field(default=300.0, gt=0, description="Seconds to wait for a model to become available.")
    kubeContext: str | None = Field(default=None, description="The kubeconfig context to use; default: the current.")

    @field_validator("namespace")
    @classmethod
    def _namespace_is_a_dns_label(cls, namespace: str) -> str:
        if not DNS_LABEL.match(namespace):
            raise ValueError(
                f"namespace {namespace!r} is not a valid Kubernetes namespace; use lowercase letters, digits and '-'"
            )
        return namespace

    @field_validator("authSecretName", "serviceAccountName")
    @classmethod
    def _names_are_dns_subdomains(cls, name: str | None) -> str | None:
        if name is not None and not DNS_SUBDOMAIN.match(name):
            raise ValueError(
                f"{name!r} is not a valid Kubernetes object name; use lowercase letters, digits, '-' and '.'"
            )
        return name

    @field_validator("serverPythonVersion")
    @classmethod
    def _server_python_is_a_minor_version(cls, version: str) -> str:
        # Imported here: the environment package costs 0.13 s, and plugins import these options at every start.
        from tempo_core.environment.target import check_python_version

        return check_python_version(version, "serverPythonVersion")

    @field_validator("serverPlatform")
    @classmethod
    def _server_platform_is_supported(cls, platform: str) -> str:
        from tempo_core.environment.target import check_platform

        return check_platform(platform, "serverPlatform")

    @field_validator("ingressBaseUrl")
    @classmethod
    def _ingress_is_http(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError(f"ingressBaseUrl {url!r} must start with http:// or https://")
        return url.rstrip("/") if url is not None else None


class KubernetesRuntimeOptions(RuntimeOptions):
    """Base of the options of runtimes that apply manifests to a cluster (Seldon Core, KServe)."""

    remote_options: KubernetesOptions = Field(default_factory=KubernetesOptions)

    def server_target(self) -> ServerTarget | None:
        """The Python and platform of `mlserverImage`; None when `serverImage` holds the environment itself."""
        from tempo_core.environment.target import ServerTarget

        remote = self.remote_options
        if remote.serverImage:
            return None
        return ServerTarget(python_version=remote.serverPythonVersion, platform=remote.serverPlatform)
