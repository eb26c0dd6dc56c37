"""The names and labels that mark what tempo started on a Docker engine, so it finds exactly that and nothing else."""

from __future__ import annotations

__all__ = [
    "MANAGED",
    "NAMESPACE",
    "MODEL",
    "OWNER",
    "SPEC",
    "READY_PATHS",
    "GRPC_PORT",
    "WORKDIR",
    "FOLDER",
    "RESERVED_PREFIX",
    "container_name",
    "network_name",
    "selector",
]

RESERVED_PREFIX = "io.tempo."
MANAGED = "io.tempo.managed"
NAMESPACE = "io.tempo.namespace"
MODEL = "io.tempo.model"
# The pipeline whose deploy started this container; undeploying that pipeline removes it too.
OWNER = "io.tempo.owner"
# A digest of everything the container was created from; a redeploy with the same digest keeps it.
SPEC = "io.tempo.spec"
READY_PATHS = "io.tempo.ready-paths"
# The port of the server's gRPC endpoint inside the container, published on the host like the REST one.
GRPC_PORT = "io.tempo.grpc-port"
# The port of the server's Prometheus metrics inside the container, published on the host too.
METRICS_PORT = "io.tempo.metrics-port"
WORKDIR = "io.tempo.workdir"
# The artifact folder mounted into the container, on the host: `tempo predict NAME` reads the signature there.
FOLDER = "io.tempo.folder"


def container_name(namespace: str, model_name: str) -> str:
    """The container of `model_name` in `namespace`: ``tempo-<namespace>--<model>``.

    Namespaces never contain ``--``, so two (namespace, model) pairs never share a name.
    """
    return f"tempo-{namespace}--{model_name}"


def network_name(namespace: str) -> str:
    """The user-defined network that the containers of `namespace` share unless the options name another."""
    return f"tempo-{namespace}"


def selector(namespace: str, extra: dict[str, str] | None = None) -> dict[str, list[str]]:
    """A Docker `filters` argument matching what tempo started in `namespace` and carries the `extra` labels."""
    pairs = {MANAGED: "true", NAMESPACE: namespace, **(extra or {})}
    return {"label": [f"{key}={value}" for key, value in pairs.items()]}
