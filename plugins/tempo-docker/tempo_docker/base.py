"""Base images without a registry: a Debian root filesystem made by debootstrap, imported into the engine."""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

import docker
from docker.utils import parse_repository_tag

from tempo_core.errors import DeployError
from tempo_docker.engine import BUILD_TIMEOUT, connect
from tempo_docker.options import DEFAULT_BASE

__all__ = ["build_base_image", "BASE_PACKAGES"]

logger = logging.getLogger(__name__)

# What `build_image` needs in a base: an interpreter, venv with its bundled pip, and CA certificates for users.
BASE_PACKAGES = ("python3", "python3-venv", "python3-pip", "ca-certificates")
_OUTPUT_TAIL = 3000


def build_base_image(
    name: str = DEFAULT_BASE,
    *,
    suite: str = "bookworm",
    rootfs_tarball: Path | None = None,
    mirror: str | None = None,
) -> str:
    """Import a minimal Debian `suite` with Python, made by debootstrap, as the local image `name`; return its id.

    With `rootfs_tarball`, an existing tarball is imported as it is, and a new one is kept there, so debootstrap
    (root, about a minute, a Debian mirror) runs once.
    """
    client = connect(BUILD_TIMEOUT)
    if rootfs_tarball is not None and rootfs_tarball.is_file():
        logger.info("Importing the root filesystem %s", rootfs_tarball)
        return _import(client, rootfs_tarball, name)
    scratch_parent = rootfs_tarball.parent if rootfs_tarball is not None else None
    if scratch_parent is not None:
        scratch_parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tempo-rootfs-", dir=scratch_parent) as scratch:
        rootfs = Path(scratch) / "rootfs"
        _debootstrap(suite, rootfs, mirror)
        partial = Path(scratch) / "rootfs.tar"
        _run(["tar", "-C", str(rootfs), "-cf", str(partial), "."], action=f"Packing {rootfs}", fix="Free disk space.")
        tarball = partial if rootfs_tarball is None else partial.replace(rootfs_tarball)
        return _import(client, tarball, name)


def _debootstrap(suite: str, rootfs: Path, mirror: str | None) -> None:
    debootstrap = shutil.which("debootstrap")
    if debootstrap is None:
        raise DeployError(
            "building a base image needs debootstrap, which is not installed; install it with: "
            "apt-get install debootstrap, or pass an existing rootfs tarball."
        )
    if os.geteuid() != 0:
        raise DeployError("debootstrap must run as root to build a base image; run the command with sudo.")
    command = [debootstrap, "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}", suite, str(rootfs)]
    logger.info("Running debootstrap for Debian %s (about a minute)", suite)
    _run(
        [*command, *([mirror] if mirror else [])],
        action=f"debootstrap of Debian {suite}",
        fix="Check that a Debian mirror is reachable, or pass mirror=... (--mirror) naming one that is.",
    )


def _run(command: list[str], *, action: str, fix: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        output = (result.stderr or result.stdout).strip()[-_OUTPUT_TAIL:]
        raise DeployError(f"{action} failed: `{shlex.join(command)}` exited with {result.returncode}:\n{output}\n{fix}")


def _import(client: docker.DockerClient, tarball: Path, name: str) -> str:
    repository, tag = parse_repository_tag(name)
    client.api.import_image_from_file(str(tarball), repository=repository, tag=tag or "latest")
    return str(client.images.get(name).id)
