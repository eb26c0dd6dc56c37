"""environment.tar.gz: a saved model's environment built for a cluster's server image, and what the image does.

The stock MLServer image unpacks $MLSERVER_ENV_TARBALL, sources its bin/activate, runs conda-unpack and starts the
`mlserver` it then finds on PATH. Here that command runs for real in a clean environment, with a virtualenv of this
machine's base interpreter standing in for the image's /opt/conda. The core session has no serving plugin, so a
model's serving stack here is tempo-core itself and its `tempo` command stands in for `mlserver`
(plugins/tempo-kfserving/tests/test_server_environment.py starts MLServer from the tarball).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import urllib.request
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from packaging.specifiers import SpecifierSet

from tempo_core import Model, ModelFramework, PipelineModels, deploy, load, manifest, model, pipeline, save, upload
from tempo_core.artifact import INDEX_FILE, read_index, write_index
from tempo_core.environment.capture import capture
from tempo_core.environment.installed import InstalledEnvironment
from tempo_core.environment.record import read_record
from tempo_core.environment.server_environment import SERVER_TARBALL, pack_server_environment
from tempo_core.environment.target import ServerTarget
from tempo_core.errors import ArtifactIntegrityError, DeployError, EnvironmentCaptureError
from tempo_core.kubernetes import KubernetesRuntimeOptions
from tempo_core.version import __version__
from tempo_test_support.s3 import S3Endpoint
from tests import test_environment

PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
HERE = ServerTarget(python_version=PYTHON)
conda_prefix = test_environment.conda_prefix  # the fixture of a small conda environment


class ClusterOptions(KubernetesRuntimeOptions):
    """The options of a cluster runtime, as SeldonCoreOptions and KFServingOptions are (no plugin is installed)."""

    manifest_target: ClassVar[str | None] = "hello-configmap"  # rendered by tests/plugins/tempo-hello


def make_doubler(folder: Path, uri: str | None = None):  # type: ignore[no-untyped-def]
    @model(name="doubler", local_folder=str(folder), uri=uri)
    def doubler(values: np.ndarray) -> np.ndarray:
        return values * 2

    return doubler


@pytest.fixture
def saved(tmp_path: Path, shared_cache: Path) -> Path:
    """The folder of a saved custom numpy model."""
    return save(make_doubler(tmp_path / "doubler"))


@pytest.fixture(scope="module")
def image_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The image's interpreter folder (its /opt/conda/bin): a virtualenv of this machine's base interpreter."""
    prefix = tmp_path_factory.mktemp("image") / "conda"
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(prefix)], check=True)  # type: ignore[attr-defined]
    return prefix / "bin"


def run_like_the_stock_image(tarball: Path, workdir: Path, image_bin: Path, command: str) -> str:
    """Unpack and activate `tarball` as MLServer 1.7.1's hack/activate-env.sh does, then run `command`, in a clean
    environment; return its output."""
    script = (
        'set -euo pipefail; mkdir -p envs/environment; tar -zxf "$MLSERVER_ENV_TARBALL" -C envs/environment; '
        "set +u; source envs/environment/bin/activate >/dev/null; set -u; conda-unpack >/dev/null; "
        f"export PYTHONNOUSERSITE=True; {command}"
    )
    env = {"PATH": f"{image_bin}:/usr/bin:/bin", "HOME": str(workdir), "MLSERVER_ENV_TARBALL": str(tarball)}
    result = subprocess.run(["bash", "-c", script], cwd=workdir, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def snapshot(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def pypi_reachable() -> bool:
    try:
        with urllib.request.urlopen("https://pypi.org/simple/pip/", timeout=10) as response:
            return bool(response.status == 200)
    except OSError:
        return False


# --- built for this machine's Python: offline, from the saved wheelhouse ----------------------------------------


def test_the_stock_image_command_runs_the_model_from_a_tarball_built_for_its_python(
    saved: Path, tmp_path: Path, image_python: Path
) -> None:
    tarball = pack_server_environment(saved, HERE)
    workdir = tmp_path / "opt-mlserver"
    workdir.mkdir()

    code = f"import sys, numpy; from tempo_core import load; print(sys.prefix); print(load('{saved}')(numpy.ones(2)))"
    out = run_like_the_stock_image(tarball, workdir, image_python, f"python -c {shlex.quote(code)}; tempo --version")

    prefix, prediction, version = out.splitlines()
    assert prefix == str(workdir / "envs" / "environment")
    assert prediction == "[2. 2.]"
    assert version.endswith(__version__), "the tree's own console script runs, from wherever it was unpacked"
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
        scripts = {name: archive.extractfile(name).read() for name in names if name.startswith("bin/")}  # type: ignore[union-attr]
    assert {"bin/activate", "bin/conda-unpack", "bin/tempo"} <= set(scripts)
    assert all(text.startswith(b"#!/bin/sh\n") for name, text in scripts.items() if name != "bin/activate")
    assert not any(sys.prefix.encode() in text for text in scripts.values()), "no path of this machine's Python"
    compiled = [name for name in names if name.endswith(f".cpython-{PYTHON.replace('.', '')}.pyc")]
    assert any("/numpy/__pycache__/" in name for name in compiled), "byte-compiled at build time"


def test_conda_unpack_names_the_python_it_needs_when_the_image_has_none(saved: Path, tmp_path: Path) -> None:
    tarball = pack_server_environment(saved, HERE)
    coreutils = tmp_path / "coreutils"  # what conda-unpack uses besides a python: nothing else is on PATH
    coreutils.mkdir()
    for tool in ("dirname", "ln"):
        (coreutils / tool).symlink_to(shutil.which(tool) or f"/usr/bin/{tool}")
    with tarfile.open(tarball) as archive:
        archive.extractall(tmp_path / "tree", filter="tar")

    result = subprocess.run(
        ["/bin/sh", str(tmp_path / "tree" / "bin" / "conda-unpack")],
        env={"PATH": str(coreutils)},
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode != 0
    assert f"built for CPython {PYTHON}" in result.stderr
    assert f"no python{PYTHON} on PATH" in result.stderr
    assert "serverPythonVersion" in result.stderr


def test_the_tarball_holds_the_distributions_but_not_their_test_suites(saved: Path) -> None:
    with tarfile.open(pack_server_environment(saved, HERE)) as archive:
        names = archive.getnames()
    site = f"lib/python{PYTHON}/site-packages"

    assert f"{site}/numpy/__init__.py" in names
    assert f"{site}/numpy/testing/__init__.py" in names, "numpy.testing is a module users import, not a test suite"
    assert not [name for name in names if name.startswith((f"{site}/numpy/tests/", f"{site}/numpy/_core/tests/"))]


def test_a_second_pack_reuses_the_cached_tarball_and_the_manifest_lists_it(saved: Path, shared_cache: Path) -> None:
    first = pack_server_environment(saved, HERE)
    inode = first.stat().st_ino
    second = pack_server_environment(saved, HERE)

    assert second == saved / SERVER_TARBALL
    assert second.stat().st_ino == inode, "the same cached file, not built again"
    assert second.stat().st_nlink >= 2, "hard-linked from the cache"
    assert (saved / INDEX_FILE).stat().st_mode & 0o044 == 0o044, "a server running as another user reads it"
    recorded = json.loads((saved / INDEX_FILE).read_text())
    sha256 = hashlib.sha256(second.read_bytes()).hexdigest()
    assert recorded["files"][SERVER_TARBALL] == sha256
    assert recorded["server_environment"] == {
        "python_version": PYTHON,
        "platform": "linux_x86_64",
        "environment_hash": recorded["environment"]["content_hash"],
        "sha256": sha256,
    }
    np.testing.assert_array_equal(load(saved)(np.ones(2)), [2, 2])


def test_a_tampered_tarball_is_caught_unless_the_environment_is_not_verified(saved: Path) -> None:
    tarball = pack_server_environment(saved, HERE)
    replacement = saved / "replacement"
    replacement.write_bytes(tarball.read_bytes() + b"tampered")
    os.replace(replacement, tarball)  # a new file: editing in place would edit the cached one too

    with pytest.raises(ArtifactIntegrityError, match=rf"sha256 of {SERVER_TARBALL} does not match"):
        read_index(saved)
    assert read_index(saved, verify_environment=False).details.name == "doubler"


def test_saving_again_keeps_the_tarball_until_the_environment_changes(saved: Path, tmp_path: Path) -> None:
    pack_server_environment(saved, HERE)
    doubler = make_doubler(tmp_path / "doubler")

    save(doubler)
    kept = read_index(saved)
    (saved / "requirements.txt").write_text("numpy\nrequests\n")  # requests: outside tempo-core's closure
    save(doubler)
    changed = read_index(saved)

    assert kept.server_environment is not None and SERVER_TARBALL in kept.files
    assert changed.server_environment is None
    assert SERVER_TARBALL not in changed.files
    assert not (saved / SERVER_TARBALL).exists()


# --- built for another Python ---------------------------------------------------------------------------------


def test_the_default_target_is_refused_naming_what_has_no_wheel_for_it_and_the_fixes(saved: Path) -> None:
    numpy_version = importlib.metadata.version("numpy")
    requires = SpecifierSet(importlib.metadata.metadata("numpy")["Requires-Python"] or "")
    if requires.contains("3.10"):
        pytest.skip(f"numpy {numpy_version} installed here supports Python 3.10, so the default target builds")
    before = snapshot(saved)

    with pytest.raises(EnvironmentCaptureError) as raised:
        pack_server_environment(saved, ServerTarget())

    message = str(raised.value)
    assert f"numpy {numpy_version}" in message
    assert f"requires Python {requires}" in message or f"require Python {requires}" in message
    assert "CPython 3.10 on linux_x86_64" in message
    assert "save the model again" in message
    assert "serverPythonVersion" in message
    assert "tempo docker build-image --push REGISTRY/NAME:TAG" in message
    assert "serverImage" in message
    assert snapshot(saved) == before, "the artifact folder is unchanged"


@pytest.mark.skipif(not pypi_reachable(), reason="building for another Python downloads its wheels from PyPI")
def test_a_tarball_for_another_python_holds_its_wheels_from_the_index(saved: Path) -> None:
    tarball = pack_server_environment(saved, ServerTarget(python_version="3.12"))

    with tarfile.open(tarball) as archive:
        names = archive.getnames()
        unpack = (archive.extractfile("bin/conda-unpack") or b"").read().decode()
    extensions = [name for name in names if name.endswith(".so")]
    assert any(name.startswith("lib/python3.12/site-packages/numpy/") for name in extensions)
    assert all("cpython-312" in name for name in extensions if "cpython-3" in name)
    assert not any("cpython-311" in name for name in names)
    assert f"lib/python3.12/site-packages/tempo_core-{__version__}.dist-info/METADATA" in names, (
        "this checkout's tempo-core, from the wheelhouse"
    )
    assert "version=3.12" in unpack
    assert read_index(saved).server_environment.python_version == "3.12"  # type: ignore[union-attr]


# --- saved from a conda environment ------------------------------------------------------------------------------


def save_from_conda(folder: Path, conda_prefix: InstalledEnvironment) -> Path:
    """Save the doubler as save() does in the conda environment `conda_prefix` (which has no tempo-core to pin)."""
    save(make_doubler(folder), save_env=False)
    record = capture(folder, conda_prefix, requirements=["tinypkg"], include=[])
    saved = read_index(folder)
    files = {**saved.files, **{name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in record.files}}
    write_index(folder, saved.model_copy(update={"environment": record.model_dump(mode="json"), "files": files}))
    return folder


def test_a_conda_pack_tarball_made_for_the_target_is_the_server_tarball(
    conda_prefix: InstalledEnvironment, tmp_path: Path, shared_cache: Path
) -> None:
    pytest.importorskip("conda_pack", reason="conda-pack packs conda environments: pip install conda-pack")
    folder = save_from_conda(tmp_path / "doubler", conda_prefix)

    tarball = pack_server_environment(folder, HERE)

    assert tarball.samefile(folder / "environment" / "environment.tar.gz")
    assert read_index(folder).server_environment.sha256 == hashlib.sha256(tarball.read_bytes()).hexdigest()  # type: ignore[union-attr]


def test_a_conda_environment_for_another_python_is_installed_from_its_model_pins(
    conda_prefix: InstalledEnvironment, tmp_path: Path, shared_cache: Path
) -> None:
    pytest.importorskip("conda_pack", reason="conda-pack packs conda environments: pip install conda-pack")
    folder = save_from_conda(tmp_path / "doubler", conda_prefix)
    record = read_record(folder)
    before = snapshot(folder)

    with pytest.raises(EnvironmentCaptureError) as raised:
        pack_server_environment(folder, ServerTarget(python_version="3.12"))

    assert record.pins == ["tinypkg==1.0"], "the model's closure, not every package conda installed"
    assert "tempo-edit==0.1" in (folder / "environment" / "requirements.lock").read_text().split()
    assert "tinypkg 1.0 cannot be installed there" in str(raised.value)
    assert "CPython 3.12 on linux_x86_64" in str(raised.value)
    assert snapshot(folder) == before


# --- upload, manifest and deploy -------------------------------------------------------------------------------


def test_upload_for_a_cluster_builds_the_tarball_of_custom_models_only(
    bucket: str, s3_endpoint: S3Endpoint, tmp_path: Path, shared_cache: Path
) -> None:
    (tmp_path / "sklearn").mkdir()
    (tmp_path / "sklearn" / "model.joblib").write_bytes(b"a trained model")
    standard = Model(
        name="iris", platform=ModelFramework.SKLearn, local_folder=str(tmp_path / "sklearn"), uri=f"s3://{bucket}/iris"
    )
    doubler = make_doubler(tmp_path / "doubler", f"s3://{bucket}/doubler")

    @pipeline(
        name="both",
        local_folder=str(tmp_path / "both"),
        uri=f"s3://{bucket}/both",
        models=PipelineModels(iris=standard, doubler=doubler),
    )
    def both(values: np.ndarray) -> np.ndarray:
        return both.models.doubler(values)

    save(both)
    upload(both, ClusterOptions(remote_options={"serverPythonVersion": PYTHON}))

    keys = s3_endpoint.keys(bucket)
    assert f"doubler/{SERVER_TARBALL}" in keys
    assert f"both/{SERVER_TARBALL}" in keys
    assert "iris/model.joblib" in keys
    assert not any(key.startswith("iris/environment") for key in keys), "a standard artifact gets no tarball"


def test_upload_builds_no_tarball_when_the_server_image_holds_the_environment(
    bucket: str, s3_endpoint: S3Endpoint, tmp_path: Path, shared_cache: Path
) -> None:
    doubler = make_doubler(tmp_path / "doubler", f"s3://{bucket}/doubler")
    save(doubler)

    upload(doubler, ClusterOptions(remote_options={"serverImage": "registry.example.com/doubler:1"}))

    assert f"doubler/{INDEX_FILE}" in s3_endpoint.keys(bucket)
    assert f"doubler/{SERVER_TARBALL}" not in s3_endpoint.keys(bucket)


def test_manifest_and_deploy_refuse_a_saved_model_without_the_tarball_its_cluster_needs(
    saved: Path, hello_plugin_installed: str, fresh_plugins: None
) -> None:
    doubler = make_doubler(saved, "s3://models/doubler")
    options = ClusterOptions(remote_options={"serverPythonVersion": PYTHON})

    with pytest.raises(DeployError) as missing:
        manifest(doubler, options)
    pack_server_environment(saved, HERE)
    rendered = manifest(doubler, options)
    with pytest.raises(DeployError) as other_target:
        manifest(doubler, ClusterOptions(remote_options={"serverPythonVersion": "3.12"}))
    with pytest.raises(DeployError) as deploying:
        deploy(doubler, ClusterOptions())

    assert "kind: ConfigMap" in rendered and "name: doubler" in rendered

    assert "model 'doubler' has no environment.tar.gz" in str(missing.value)
    assert f"built for CPython {PYTHON} on linux_x86_64" in str(missing.value)
    assert "run upload(model, options)" in str(missing.value)
    assert "tempo upload MODULE:OBJECT --runtime RUNTIME --options FILE" in str(missing.value)
    assert "serverImage" in str(missing.value)
    assert f"has an environment.tar.gz for CPython {PYTHON} on linux_x86_64" in str(other_target.value)
    assert "needs one built for CPython 3.12 on linux_x86_64" in str(other_target.value)
    assert "needs one built for CPython 3.10 on linux_x86_64" in str(deploying.value)


# --- options -----------------------------------------------------------------------------------------------------


def test_cluster_options_name_the_server_python_and_platform_and_check_them() -> None:
    assert ClusterOptions().server_target() == ServerTarget(python_version="3.10", platform="linux_x86_64")
    assert ClusterOptions().remote_options.mlserverImage == "docker.io/seldonio/mlserver:1.7.1"
    arm = ClusterOptions(remote_options={"serverPythonVersion": "3.12", "serverPlatform": "linux_aarch64"})
    assert str(arm.server_target()) == "CPython 3.12 on linux_aarch64"
    assert ClusterOptions(remote_options={"serverImage": "registry.example.com/m:1"}).server_target() is None

    with pytest.raises(ValueError, match=r"serverPythonVersion '3' is not a CPython minor version.*'3\.10'"):
        ClusterOptions(remote_options={"serverPythonVersion": "3"})
    with pytest.raises(ValueError, match=r"serverPlatform 'linux-amd64'.*linux_x86_64, linux_aarch64"):
        ClusterOptions(remote_options={"serverPlatform": "linux-amd64"})


def test_tempo_upload_builds_for_the_stock_image_by_default_and_refuses_before_copying(
    tmp_path: Path, shared_cache: Path
) -> None:
    numpy_version = importlib.metadata.version("numpy")
    if SpecifierSet(importlib.metadata.metadata("numpy")["Requires-Python"] or "").contains("3.10"):
        pytest.skip(f"numpy {numpy_version} installed here supports Python 3.10, so the default target builds")
    (tmp_path / "models.py").write_text(
        "import numpy as np\n"
        "from tempo_core import model\n\n"
        f"@model(name='doubler', local_folder={str(tmp_path / 'doubler')!r}, uri={(tmp_path / 'bucket').as_uri()!r})\n"
        "def doubler(values: np.ndarray) -> np.ndarray:\n"
        "    return values * 2\n"
    )
    tempo = [sys.executable, "-m", "tempo_core"]
    subprocess.run([*tempo, "save", "models.py:doubler"], cwd=tmp_path, check=True, capture_output=True)
    (tmp_path / "options.yaml").write_text("remote_options: {serverPythonVersion: '3.12'}\n")

    refused = subprocess.run([*tempo, "upload", "models.py:doubler"], cwd=tmp_path, capture_output=True, text=True)
    unnamed = subprocess.run(
        [*tempo, "upload", "models.py:doubler", "--options", "options.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )

    assert refused.returncode == 1
    assert f"numpy {numpy_version}" in refused.stderr and "CPython 3.10 on linux_x86_64" in refused.stderr
    assert not (tmp_path / "bucket").exists(), "nothing is copied"
    assert unnamed.returncode == 2
    assert "--options needs --runtime" in unnamed.stderr
