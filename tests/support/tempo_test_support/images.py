"""Stand-ins, built here, for the images a cluster runs: the stock MLServer image and the storage initializers.

No image registry outside this machine can be reached, so the tests cannot pull `seldonio/mlserver:1.7.1`. The
stand-in follows MLServer 1.7.1's own Dockerfile and `hack/activate-env.sh`: MLServer and its sklearn and xgboost
runtimes installed in /opt/conda, user 1000 with home and working directory /opt/mlserver, `MLSERVER_MODELS_DIR`
and `MLSERVER_ENV_TARBALL=/mnt/models/environment.tar.gz`, and a command that unpacks that tarball (when there is
one) into ./envs/environment, sources its `bin/activate`, runs `conda-unpack`, sets `PYTHONNOUSERSITE`, and runs
`mlserver start /mnt/models`. It holds nothing of tempo. What differs from the real image: Debian bookworm instead
of UBI 9, Debian's CPython 3.11 (in a virtualenv at /opt/conda) instead of conda's 3.10, so the tests build
environments for 3.11; no conda itself; xgboost without NCCL (loaded only for multi-GPU training); the activation
script is written from the behaviour of MLServer's, not copied.

The storage initializers: Seldon Core's is `rclone copy SRC DEST` (rclone from this machine's Debian package, as
user 8888, as its image does); KServe's real one is Python (boto3), and its stand-in downloads with rclone too,
configured from the same variables KServe's S3 credential builder gives it (AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL,
...).

Each image is built from the local debootstrap base with no network, and rebuilt only when its recipe changes.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import docker
from packaging.requirements import Requirement

from tempo_core.environment.cache import cache_root
from tempo_core.environment.closure import lock_distributions
from tempo_core.environment.installed import InstalledEnvironment
from tempo_core.environment.wheelhouse import build_wheelhouse

__all__ = [
    "STOCK_MLSERVER",
    "SELDON_STORAGE_INITIALIZER",
    "KSERVE_STORAGE_INITIALIZER",
    "STOCK_PYTHON_VERSION",
    "build_stock_mlserver",
    "build_storage_initializers",
]

logger = logging.getLogger(__name__)

STOCK_MLSERVER = "tempo-stand-in/mlserver:1.7.1"
SELDON_STORAGE_INITIALIZER = "tempo-stand-in/rclone-storage-initializer:1.17.1"
KSERVE_STORAGE_INITIALIZER = "tempo-stand-in/kserve-storage-initializer:0.20"
STOCK_PYTHON_VERSION = "3.11"  # Debian bookworm's; the real image's is 3.10
_RECIPE_LABEL = "io.tempo.test.recipe"
_STOCK_REQUIREMENTS = ("mlserver==1.7.1", "mlserver-sklearn==1.7.1", "mlserver-xgboost==1.7.1")
_LEFT_OUT = frozenset({"nvidia-nccl-cu12"})

_ACTIVATE_ENV = r"""#!/usr/bin/env bash
# Stand-in for MLServer's hack/activate-env.sh, sourced before `mlserver start`: unpack the environment tarball
# named by $1 (if it exists) into ./envs/<its name>, then activate it and relocate it with conda-unpack.
set -o nounset -o errexit -o pipefail
_tarball=$1
_folder="./envs/$(basename "${_tarball%.tar.gz}")"
if [[ -f $_tarball ]]; then
  echo "--> Unpacking environment at $_tarball..."
  mkdir -p "$_folder"
  tar -zxf "$_tarball" -C "$_folder"
else
  echo "Environment tarball not found at '$_tarball'"
fi
if [[ -f $_folder/bin/activate ]]; then
  echo "--> Sourcing new environment at $_folder..."
  set +u
  source "$_folder/bin/activate" 1> /dev/null
  set -u
  echo "--> Calling conda-unpack..."
  conda-unpack 1> /dev/null
  echo "--> Disabling user-installed packages..."
  export PYTHONNOUSERSITE=True
fi
"""

_STOCK_DOCKERFILE = """FROM {base}
SHELL ["/bin/bash", "-c"]
ENV MLSERVER_MODELS_DIR=/mnt/models \\
    MLSERVER_ENV_TARBALL=/mnt/models/environment.tar.gz \\
    MLSERVER_PATH=/opt/mlserver \\
    CONDA_PATH=/opt/conda \\
    PATH=/opt/mlserver/.local/bin:/opt/conda/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
COPY wheels /tmp/wheels
RUN python3 -m venv /opt/conda && \\
    /opt/conda/bin/python -m pip install --quiet --no-index --no-deps --no-compile /tmp/wheels/*.whl && \\
    (/opt/conda/bin/python -m compileall -q -j 0 -x '[/\\\\]tests?[/\\\\]' /opt/conda/lib || true) && \\
    rm -rf /tmp/wheels
RUN mkdir -p $MLSERVER_PATH && useradd -u 1000 -s /bin/bash mlserver -d $MLSERVER_PATH && \\
    chown -R 1000:0 $MLSERVER_PATH && chmod -R 776 $MLSERVER_PATH
WORKDIR /opt/mlserver
COPY activate-env.sh ./hack/activate-env.sh
USER 1000
CMD source ./hack/activate-env.sh $MLSERVER_ENV_TARBALL && mlserver start $MLSERVER_MODELS_DIR
"""

_KSERVE_INITIALIZER_SCRIPT = r"""#!/bin/sh
# Stand-in for KServe's storage initializer: download SRC (s3://bucket/path) into DEST with rclone, configured
# from the variables KServe's S3 credential builder sets.
set -eu
src=$1
dest=$2
case "$src" in
  s3://*) ;;
  *) echo "the stand-in storage initializer downloads s3:// URIs only, not $src" >&2; exit 1 ;;
esac
export RCLONE_CONFIG_S3_TYPE=s3 RCLONE_CONFIG_S3_PROVIDER=Other
export RCLONE_CONFIG_S3_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-}"
export RCLONE_CONFIG_S3_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-}"
if [ -n "${AWS_ENDPOINT_URL:-}" ]; then export RCLONE_CONFIG_S3_ENDPOINT="$AWS_ENDPOINT_URL"; fi
if [ -n "${AWS_DEFAULT_REGION:-}" ]; then export RCLONE_CONFIG_S3_REGION="$AWS_DEFAULT_REGION"; fi
echo "Copying $src to $dest"
exec rclone copy "s3:${src#s3://}" "$dest"
"""

_INITIALIZER_DOCKERFILE = """FROM {base}
COPY rclone /usr/local/bin/rclone
COPY kserve-storage-initializer /usr/local/bin/kserve-storage-initializer
ENV RCLONE_CONFIG_GS_TYPE="google cloud storage" RCLONE_CONFIG_GS_ANONYMOUS=true RCLONE_VERBOSE=1
USER 8888
ENTRYPOINT ["rclone", "copy"]
"""

_KSERVE_INITIALIZER_DOCKERFILE = """FROM {seldon}
USER 1000
ENTRYPOINT ["kserve-storage-initializer"]
"""


def build_stock_mlserver(client: docker.DockerClient, base: str) -> str:
    """Build the stand-in for the stock MLServer 1.7.1 image from `base` and this environment's MLServer wheels."""
    installed = InstalledEnvironment.current()
    locked = lock_distributions(
        installed.distributions(), [Requirement(text) for text in _STOCK_REQUIREMENTS], [], installed.prefix
    )
    locked = [item for item in locked if item.name not in _LEFT_OUT]
    tempo = [item.pin for item in locked if item.name.startswith("tempo")]
    if tempo:
        raise RuntimeError(
            f"the stock MLServer stand-in must hold nothing of tempo, but MLServer's closure has {tempo}"
        )
    with _context() as context:
        build_wheelhouse(locked, {}, installed, context / "wheels")
        (context / "activate-env.sh").write_text(_ACTIVATE_ENV)
        (context / "activate-env.sh").chmod(0o755)
        (context / "Dockerfile").write_text(_STOCK_DOCKERFILE.format(base=base))
        recipe = _recipe(context, [item.pin for item in locked], str(client.images.get(base).id))
        return _build(client, context, STOCK_MLSERVER, recipe)


def build_storage_initializers(client: docker.DockerClient, base: str) -> tuple[str, str]:
    """Build the stand-ins for Seldon Core's and KServe's storage initializers; return their names."""
    rclone = shutil.which("rclone")
    if rclone is None:
        raise RuntimeError("the storage initializer stand-ins need rclone: apt-get install rclone")
    with _context() as context:
        shutil.copy2(rclone, context / "rclone")
        (context / "kserve-storage-initializer").write_text(_KSERVE_INITIALIZER_SCRIPT)
        (context / "kserve-storage-initializer").chmod(0o755)
        (context / "Dockerfile").write_text(_INITIALIZER_DOCKERFILE.format(base=base))
        _build(client, context, SELDON_STORAGE_INITIALIZER, _recipe(context, [], str(client.images.get(base).id)))
    with _context() as context:
        (context / "Dockerfile").write_text(_KSERVE_INITIALIZER_DOCKERFILE.format(seldon=SELDON_STORAGE_INITIALIZER))
        seldon_id = str(client.images.get(SELDON_STORAGE_INITIALIZER).id)
        _build(client, context, KSERVE_STORAGE_INITIALIZER, _recipe(context, [], seldon_id))
    return SELDON_STORAGE_INITIALIZER, KSERVE_STORAGE_INITIALIZER


@contextmanager
def _context() -> Iterator[Path]:
    """A temporary build context inside the cache folder (so wheels are hard links, not copies)."""
    cache_root().mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="tempo-stand-in-", dir=cache_root()))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _recipe(context: Path, pins: Iterable[str], base_id: str) -> str:
    """A hash of what the image is made of: its build files (not the wheels, named by `pins`) and its base image."""
    digest = hashlib.sha256(base_id.encode())
    for pin in sorted(pins):
        digest.update(pin.encode())
    for path in sorted(context.iterdir()):
        if path.is_file():
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:24]


def _build(client: docker.DockerClient, context: Path, tag: str, recipe: str) -> str:
    try:
        if client.images.get(tag).labels.get(_RECIPE_LABEL) == recipe:
            return tag
    except docker.errors.ImageNotFound:
        pass
    logger.info("Building the stand-in image %s", tag)
    client.images.build(
        path=str(context), tag=tag, network_mode="none", rm=True, forcerm=True, labels={_RECIPE_LABEL: recipe}
    )
    return tag
