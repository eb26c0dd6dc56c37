"""Connecting to the Docker engine, with an error that says where tempo looked and how to start one."""

from __future__ import annotations

import os

import docker
import requests

from tempo_core.errors import DeployError

__all__ = ["connect", "BUILD_TIMEOUT"]

# Committing or removing a container that installed a whole environment writes gigabytes; on a busy disk that
# outlasts the client's default of 60 s per call.
BUILD_TIMEOUT = 900.0


def connect(timeout: float = 60.0) -> docker.DockerClient:
    """A client of the engine that DOCKER_HOST names (else the local socket), checked to answer; `timeout` is
    the seconds one API call may take."""
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except (docker.errors.DockerException, requests.RequestException) as exc:
        where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        raise DeployError(
            f"cannot reach the Docker engine at {where}: {exc}. Start dockerd, or set DOCKER_HOST to the socket "
            "of an engine on this machine (tempo mounts model folders into containers, so the engine must be local)."
        ) from exc
    return client
