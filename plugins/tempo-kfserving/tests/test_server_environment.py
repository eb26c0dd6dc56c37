"""The stock MLServer image serves a custom model from the environment.tar.gz built for it.

MLServer 1.7.1's image holds nothing of tempo: its command unpacks $MLSERVER_ENV_TARBALL, sources its bin/activate,
runs conda-unpack and starts the `mlserver` it then finds first on PATH, configured by the MLSERVER_MODEL_* variables
a manifest sets. Here that command runs for real in a clean environment, with a virtualenv of this machine's base
interpreter (nothing installed) standing in for the image's /opt/conda, on a tarball built for this machine's Python.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tempo_core import model, save
from tempo_core.environment.server_environment import pack_server_environment
from tempo_core.environment.target import ServerTarget
from tempo_core.processes import ServerProcess, free_port
from tempo_core.remote import ProtocolClient
from tempo_kfserving import KFServingV2Protocol
from tempo_kfserving.settings import cluster_server_env
from tempo_test_support.servers import wait_until_ready

pytestmark = pytest.mark.server

PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
# MLServer 1.7.1's hack/activate-env.sh, then the image's `mlserver start /mnt/models`.
STOCK_IMAGE_COMMAND = (
    'set -euo pipefail; mkdir -p envs/environment; tar -zxf "$MLSERVER_ENV_TARBALL" -C envs/environment; '
    "set +u; source envs/environment/bin/activate >/dev/null; set -u; conda-unpack >/dev/null; "
    'export PYTHONNOUSERSITE=True; mlserver --version; exec mlserver start "$MLSERVER_MODELS_DIR"'
)


def test_the_stock_mlserver_command_serves_a_custom_model_from_its_tarball(tmp_path: Path) -> None:
    @model(name="doubler", local_folder=str(tmp_path / "models"), protocol=KFServingV2Protocol())
    def doubler(values: np.ndarray) -> np.ndarray:
        return values * 2

    folder = save(doubler)
    tarball = pack_server_environment(folder, ServerTarget(python_version=PYTHON))
    image = tmp_path / "image" / "conda"
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(image)], check=True)  # type: ignore[attr-defined]
    workdir = tmp_path / "opt-mlserver"
    workdir.mkdir()
    port = free_port()
    env = {
        "PATH": f"{image / 'bin'}:/usr/bin:/bin",
        "HOME": str(workdir),
        "MLSERVER_ENV_TARBALL": str(tarball),
        "MLSERVER_MODELS_DIR": str(folder),  # where the storage initializer puts the artifact: /mnt/models
        **cluster_server_env(doubler, {}),
        "MLSERVER_MODEL_URI": str(folder),
        "MLSERVER_HTTP_PORT": str(port),
        "MLSERVER_GRPC_PORT": str(free_port()),
        "MLSERVER_METRICS_PORT": str(free_port()),
    }
    argv = ["env", "-i", *(f"{name}={value}" for name, value in env.items()), "bash", "-c", STOCK_IMAGE_COMMAND]
    server = ServerProcess(argv, workdir, {}, tmp_path / "server.log")
    try:
        endpoint = f"http://127.0.0.1:{port}"
        wait_until_ready(f"{endpoint}/v2/models/doubler/ready", server)
        interpreter = Path(f"/proc/{server.pid}/cmdline").read_bytes().split(b"\0")[0].decode()
        client = ProtocolClient(doubler, KFServingV2Protocol(), endpoint)
        answer = client({"values": np.array([[1.0, 2.5]])})
        client.close()
    finally:
        server.stop()

    np.testing.assert_array_equal(answer, [[2.0, 5.0]])
    assert interpreter == str(workdir / "envs" / "environment" / "bin" / "python"), (
        "MLServer runs in the tarball's tree"
    )
    assert "mlserver, version 1.7.1" in server.last_lines(200)
