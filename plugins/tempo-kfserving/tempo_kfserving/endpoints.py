"""Where a model deployed by KServe answers: its predictor's service in the cluster, or the ingress.

KServe gives an InferenceService `<name>` the predictor Service `<name>-predictor` (port 80) in both its
serverless and raw deployment modes; with path-based routing configured (the ingress `pathTemplate`
`/serving/{{ .Namespace }}/{{ .Name }}`), its ingress serves it under `/serving/<namespace>/<name>/`.
"""

from __future__ import annotations

from tempo_core.kubernetes import KubernetesOptions

__all__ = ["service_name", "in_cluster_endpoint", "endpoint_for"]


def service_name(name: str) -> str:
    """The Service KServe creates for an InferenceService's predictor."""
    return f"{name}-predictor"


def in_cluster_endpoint(name: str, namespace: str) -> str:
    """The base URL of the model `name` for callers inside the cluster."""
    return f"http://{service_name(name)}.{namespace}.svc.cluster.local"


def endpoint_for(name: str, remote: KubernetesOptions) -> str:
    """The base URL of the model `name`: through `ingressBaseUrl` when set, else in the cluster."""
    if remote.ingressBaseUrl:
        return f"{remote.ingressBaseUrl}/serving/{remote.namespace}/{name}"
    return in_cluster_endpoint(name, remote.namespace)
