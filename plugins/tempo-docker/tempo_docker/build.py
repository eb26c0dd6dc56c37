"""Building a serving image offline: a local base image plus a wheelhouse of this environment, byte-compiled.

The image is a server on its own, as the stock MLServer image is: run with no command, as user 1000, it serves
/mnt/models with MLServer, configured by `MLSERVER_*` variables, so a cluster can name it as `serverImage`.

The image has two layers of its own. The first holds every distribution installed from an index and is cached by
their pins; the second holds the editable installs (tempo's own sources, the user's project), which change from
one build to the next, so a rebuild after an edit installs only those.
"""

from __future__ import annotations

import logging
import shlex
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import docker
from docker.models.images import Image
from docker.types import Mount
from docker.utils import parse_repository_tag

from tempo_core.environment import capture_environment
from tempo_core.environment.cache import cache_root, content_hash
from tempo_core.environment.editable import editable_source
from tempo_core.environment.installed import InstalledEnvironment
from tempo_core.environment.record import ENVIRONMENT_DIR, LOCK_FILE, WHEELHOUSE_DIR
from tempo_core.errors import DeployError
from tempo_core.kubernetes.manifests import MODEL_MOUNT_PATH
from tempo_docker.engine import BUILD_TIMEOUT, connect
from tempo_docker.image import (
    IMAGE_BASE,
    IMAGE_DEPENDENCIES,
    IMAGE_ENVIRONMENT,
    IMAGE_PYTHON,
    IMAGE_PYTHON_VERSION,
    IMAGE_REQUIREMENTS,
)
from tempo_docker.options import DEFAULT_BASE, DEFAULT_IMAGE
from tempo_docker.push import push_image, registry_of

__all__ = ["build_image", "SERVING_DISTRIBUTIONS"]

logger = logging.getLogger(__name__)

# What every serving image holds beside the environment's own distributions.
SERVING_DISTRIBUTIONS = ("tempo-core", "tempo-kfserving")
_VENV = "/opt/tempo/venv"
_BUILD_MOUNT = "/tempo-build"
_PATH = f"{_VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# As in the stock MLServer image: user 1000, whose home is the working directory, writable by it and by group 0
# (clusters that run images under an arbitrary uid give it group 0). MLServer with parallel workers writes .metrics
# and .envs there (measured: PermissionError at start in an unwritable one); the model folder is mounted read-only.
_SERVER_USER = "1000"
_SERVER_HOME = "/opt/mlserver"
_SERVER_CONFIG = {
    # MLServer's `mlserver start` with tempo's protocol fixes (error shapes, status codes, binary tensors).
    "Cmd": [f"{_VENV}/bin/python", "-m", "tempo_kfserving.server", "start", MODEL_MOUNT_PATH],
    "User": _SERVER_USER,
    "WorkingDir": _SERVER_HOME,
}
_LOG_TAIL = 30
# Test suites that distributions ship are never imported by a server; skipping them saves a third of the time.
_NOT_COMPILED = r"[/\\]tests?[/\\]"


def build_image(
    tag: str = DEFAULT_IMAGE,
    *,
    base: str = DEFAULT_BASE,
    requirements: Path | None = None,
    force: bool = False,
    push: bool = False,
) -> str:
    """Build the serving image `tag` from the local image `base` and this environment, with no network; return its id.

    The environment is captured as `save` captures a model's (every installed distribution, or the closure of
    `requirements`, plus tempo-core and tempo-kfserving) into a wheelhouse on this machine, then installed into a
    byte-compiled virtualenv in the image. An image `tag` built from the same environment and base is kept unless
    `force`. With `push`, `tag` (REGISTRY/NAME:TAG) is then pushed to its registry.
    """
    if push:
        registry_of(tag)  # refuse a name that cannot be pushed before building for minutes
    image_id = _build(tag, base=base, requirements=requirements, force=force)
    if push:
        push_image(tag)
    return image_id


def _build(tag: str, *, base: str, requirements: Path | None, force: bool) -> str:
    client = connect(BUILD_TIMEOUT)
    base_id = _base_image_id(client, base)
    python_version = f"{sys.version_info.major}.{sys.version_info.minor}"
    _check_base_python(client, base, python_version)
    cache_root().mkdir(parents=True, exist_ok=True)
    # Inside the cache, the captured wheelhouse is hard links to the cached wheels rather than copies.
    with tempfile.TemporaryDirectory(prefix="tempo-image-", dir=cache_root()) as scratch:
        logger.info("Capturing this environment into a wheelhouse")
        folder = Path(scratch)
        record = capture_environment(folder, requirements=requirements, include=SERVING_DISTRIBUTIONS)
        previous = _existing(client, tag)
        if previous is not None and not force and _built_from(previous, record.content_hash, base_id):
            logger.info("%s is up to date (environment %s)", tag, record.content_hash)
            return str(previous.id)
        lock = (folder / ENVIRONMENT_DIR / LOCK_FILE).read_text(encoding="utf-8")
        editable, dependencies = _split_editable(lock.split())
        # Keyed by what the layer is made of: its base and the script that installs the pins into it.
        key = content_hash([base_id, _install_script(python_version, dependencies, create_venv=True)])
        layer = None if force else _cached_layer(client, key)
        if layer is None:
            logger.info("Installing %d distributions into %s, with no network", len(dependencies), base)
            layer = _install(
                client, base, folder, dependencies, python_version, create_venv=True, labels={IMAGE_DEPENDENCIES: key}
            )
        logger.info("Installing the editable installs: %s", ", ".join(editable) or "none")
        labels = {
            IMAGE_PYTHON: f"{_VENV}/bin/python",
            IMAGE_PYTHON_VERSION: python_version,
            IMAGE_ENVIRONMENT: record.content_hash,
            IMAGE_REQUIREMENTS: lock,
            IMAGE_BASE: base_id,
            IMAGE_DEPENDENCIES: key,
        }
        image = _install(client, layer.id, folder, editable, python_version, create_venv=False, labels=labels, tag=tag)
    if previous is not None and previous.id != image.id:
        _remove_replaced(client, previous, keep_layer=key)
    return str(image.id)


def _base_image_id(client: docker.DockerClient, base: str) -> str:
    try:
        return str(client.images.get(base).id)
    except docker.errors.ImageNotFound:
        raise DeployError(
            f"base image '{base}' is not on the engine. Make one from a Debian root filesystem with: "
            f"tempo docker build-base {base} (needs root and debootstrap), or pass --base with a local image "
            "that has python3 and python3-venv."
        ) from None


def _check_base_python(client: docker.DockerClient, base: str, version: str) -> None:
    """Wheels of compiled extensions and pickled code need the Python minor version they were made with."""
    probe = ["python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"]
    try:
        output = client.containers.run(base, probe, network_mode="none", remove=True)
    except docker.errors.DockerException as exc:
        raise DeployError(
            f"base image '{base}' cannot run python3 ({exc}); use a base image with python3 and python3-venv."
        ) from exc
    found = output.decode().strip()
    if found != version:
        raise DeployError(
            f"base image '{base}' has Python {found}, but this environment is Python {version}, and the image must "
            f"run what is saved here; use a base with Python {version} (Debian bookworm has 3.11)."
        )


def _existing(client: docker.DockerClient, tag: str) -> Image | None:
    try:
        return client.images.get(tag)
    except docker.errors.ImageNotFound:
        return None


def _built_from(image: Image, environment: str, base_id: str) -> bool:
    """Whether `image` is what building from `environment` and `base_id` makes, its serving command included."""
    labels = image.labels
    config = image.attrs.get("Config") or {}
    serves = all(config.get(key) == value for key, value in _SERVER_CONFIG.items())
    return bool(serves and labels.get(IMAGE_ENVIRONMENT) == environment and labels.get(IMAGE_BASE) == base_id)


def _split_editable(pins: Sequence[str]) -> tuple[list[str], list[str]]:
    """The pins of editable installs, and the others."""
    installed = InstalledEnvironment.current().distributions()
    editable: list[str] = []
    others: list[str] = []
    for pin in pins:
        item = installed.get(pin.partition("==")[0])
        is_editable = item is not None and editable_source(item.dist) is not None
        (editable if is_editable else others).append(pin)
    return editable, others


def _dependency_layers(client: docker.DockerClient, key: str) -> list[Image]:
    """The cached layers of distributions keyed `key` (untagged images of their own, not serving images)."""
    found = client.images.list(filters={"label": f"{IMAGE_DEPENDENCIES}={key}"}, all=True)
    return [image for image in found if IMAGE_ENVIRONMENT not in image.labels]


def _cached_layer(client: docker.DockerClient, key: str) -> Image | None:
    layers = _dependency_layers(client, key)
    if layers:
        logger.info("Reusing the layer of the other distributions (%s)", layers[0].short_id)
    return layers[0] if layers else None


def _install_script(python_version: str, pins: Sequence[str], *, create_venv: bool, serve: bool = False) -> str:
    site_packages = f"{_VENV}/lib/python{python_version}/site-packages"
    lines = ["set -e"]
    if serve:
        lines.append(
            f"getent passwd {_SERVER_USER} >/dev/null || "
            f"useradd --uid {_SERVER_USER} --home-dir {_SERVER_HOME} --no-create-home --shell /bin/sh mlserver"
        )
        lines.append(f"mkdir -p {_SERVER_HOME} && chown {_SERVER_USER}:0 {_SERVER_HOME} && chmod 775 {_SERVER_HOME}")
    if create_venv:
        lines.append(f"python3 -m venv {_VENV}")
    if pins:
        # The pins are (part of) a complete closure, so nothing needs resolving.
        lines.append(
            f"{_VENV}/bin/python -m pip install --quiet --disable-pip-version-check --no-input --no-index --no-deps "
            f"--no-compile --find-links {_BUILD_MOUNT}/{ENVIRONMENT_DIR}/{WHEELHOUSE_DIR} {shlex.join(pins)}"
        )
        # Some distributions ship files that are not valid Python on purpose (templates, test data).
        lines.append(f"{_VENV}/bin/python -m compileall -q -j 0 -x '{_NOT_COMPILED}' {site_packages} || true")
    return "\n".join(lines)


def _install(
    client: docker.DockerClient,
    image: str,
    folder: Path,
    pins: Sequence[str],
    python_version: str,
    *,
    create_venv: bool,
    labels: dict[str, str],
    tag: str | None = None,
) -> Image:
    """Install `pins` from the wheelhouse in `folder` into a container of `image` with no network, and commit it
    with `labels`: as the serving image `tag`, or as an untagged layer without one."""
    serve = tag is not None
    script = _install_script(python_version, pins, create_venv=create_venv, serve=serve)
    container = client.containers.create(
        image,
        ["sh", "-c", script],
        user="0",
        network_mode="none",
        mounts=[Mount(_BUILD_MOUNT, str(folder), type="bind", read_only=True)],
    )
    try:
        container.start()
        status = container.wait()["StatusCode"]
        if status != 0:
            lines = container.logs(tail=_LOG_TAIL).decode(errors="replace")
            raise DeployError(
                f"installing this environment into a container of image '{image}' failed with exit code {status}:\n"
                f"{lines}\nCheck that the base image has python3-venv and runs on this machine's platform."
            )
        repository, version = parse_repository_tag(tag) if tag else (None, None)
        conf: dict[str, object] = {"Cmd": ["python"], "Env": [f"PATH={_PATH}", "PYTHONUNBUFFERED=1"], "Labels": labels}
        if serve:
            conf.update(_SERVER_CONFIG)
        return container.commit(repository=repository, tag=version or ("latest" if tag else None), conf=conf)
    finally:
        container.remove(force=True)


def _remove_replaced(client: docker.DockerClient, previous: Image, keep_layer: str) -> None:
    """Remove the image that the tag named before, and its dependency layer unless the new image shares it."""
    doomed = [previous]
    old_layer = previous.labels.get(IMAGE_DEPENDENCIES)
    if old_layer and old_layer != keep_layer:
        doomed += _dependency_layers(client, old_layer)
    for image in doomed:
        try:
            client.images.remove(image.id)
        except docker.errors.APIError as exc:  # still used by a container, or named by another tag
            logger.info("Kept the previous image %s: %s", image.short_id, exc.explanation)
