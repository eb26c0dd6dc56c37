"""Pushing a serving image to the registry its name names, so that a cluster can pull it as `serverImage`."""

from __future__ import annotations

import logging

import docker
from docker.auth import split_repo_name
from docker.utils import parse_repository_tag

from tempo_core.errors import DeployError
from tempo_docker.engine import BUILD_TIMEOUT, connect

__all__ = ["push_image", "registry_of"]

logger = logging.getLogger(__name__)

# Status lines that say a layer is in the registry now.
_LAYER_DONE = ("Pushed", "Layer already exists", "Mounted from")
_LOGIN = "Log in with: docker login {registry} (tempo pushes with the credentials that docker login stores)."
_INSECURE = (
    "A registry on another host than 127.0.0.0/8 without TLS must be listed in the engine's insecure-registries "
    "(/etc/docker/daemon.json), or serve TLS."
)
_UNREACHABLE = "Check that a registry listens at {registry} and that the Docker engine can reach it."
# Words of the engine's error, and the fix they call for.
_FIXES = (
    (("unauthorized", "authentication required", "no basic auth", "denied"), _LOGIN),
    (("http response to https client", "x509", "certificate", "tls"), _INSECURE),
    (("connection refused", "no such host", "i/o timeout", "no route to host", "connection reset"), _UNREACHABLE),
    (("does not exist locally",), "Build it first, with: tempo docker build-image {tag}."),
)


def registry_of(tag: str) -> str:
    """The registry part of the image name `tag` (before its first `/`); a name without one is refused, as it names
    no registry that a cluster could pull it from."""
    repository, _ = parse_repository_tag(tag)
    registry, _ = split_repo_name(repository)
    if not repository.startswith(f"{registry}/"):
        raise DeployError(
            f"cannot push image '{tag}': its name has no registry part, so a cluster could not pull it; name it "
            f"REGISTRY/NAME:TAG, e.g. registry.example.com/{tag} (docker.io/USER/NAME:TAG for Docker Hub)."
        )
    return str(registry)


def _push_failed(tag: str, registry: str, message: str) -> DeployError:
    lowered = message.lower()
    fixes = [fix for words, fix in _FIXES if any(word in lowered for word in words)] or [_LOGIN, _INSECURE]
    fix = " ".join(fixes).format(registry=registry, tag=tag)
    reason = message.strip().rstrip(".")
    return DeployError(f"pushing image '{tag}' to the registry {registry} failed: {reason}. {fix}")


def push_image(tag: str) -> str:
    """Push the local image `tag` to the registry its name names, with the credentials that docker login stored;
    return the pushed reference, REPOSITORY@DIGEST."""
    registry = registry_of(tag)
    repository, version = parse_repository_tag(tag)
    client = connect(BUILD_TIMEOUT)
    logger.info("Pushing %s to %s", tag, registry)
    digest = None
    try:
        for line in client.images.push(repository, tag=version or "latest", stream=True, decode=True):
            if "error" in line or "errorDetail" in line:
                message = (line.get("errorDetail") or {}).get("message") or line.get("error") or str(line)
                raise _push_failed(tag, registry, message)
            status = str(line.get("status", ""))
            if status.startswith(_LAYER_DONE):
                logger.info("%s: %s", line.get("id"), status)
            digest = (line.get("aux") or {}).get("Digest", digest)
    except docker.errors.APIError as exc:
        raise _push_failed(tag, registry, str(exc.explanation or exc)) from exc
    if digest is None:
        raise DeployError(
            f"pushing image '{tag}' to the registry {registry} ended without a digest from the engine; push it again."
        )
    reference = f"{repository}@{digest}"
    logger.info("Pushed %s", reference)
    return reference
