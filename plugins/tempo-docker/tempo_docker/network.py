"""The user-defined networks on which a pipeline reaches its children by container name."""

from __future__ import annotations

import logging

import docker

from tempo_core.errors import DeployError
from tempo_docker.labels import MANAGED, NAMESPACE

__all__ = ["ensure_network", "remove_network_if_unused"]

logger = logging.getLogger(__name__)


def ensure_network(client: docker.DockerClient, name: str, namespace: str) -> None:
    """Create the bridge network `name`, labelled as tempo's, unless a network of that name exists."""
    try:
        client.networks.get(name)
        return
    except docker.errors.NotFound:
        pass
    try:
        client.networks.create(
            name, driver="bridge", labels={MANAGED: "true", NAMESPACE: namespace}, check_duplicate=True
        )
    except docker.errors.APIError as exc:
        if exc.status_code == 409:  # another deploy created it meanwhile
            return
        raise DeployError(
            f"cannot create the Docker network '{name}': {exc.explanation}. Remove what conflicts with it, or pass "
            "DockerOptions(network=...) naming an existing network."
        ) from exc


def remove_network_if_unused(client: docker.DockerClient, name: str) -> None:
    """Remove the network `name` if tempo created it and no container is attached to it any more."""
    try:
        network = client.networks.get(name)
    except docker.errors.NotFound:
        return
    if (network.attrs.get("Labels") or {}).get(MANAGED) != "true" or network.attrs.get("Containers"):
        return
    try:
        network.remove()
    except docker.errors.NotFound:
        return
    except docker.errors.APIError as exc:  # a container of another deploy attached meanwhile
        logger.debug("Kept the network %s: %s", name, exc.explanation)
