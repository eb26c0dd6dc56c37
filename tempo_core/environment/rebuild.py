"""Finding or building, once per environment, the interpreter that runs a saved model."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

from tempo_core.environment.cache import build_in_place_once, cache_root
from tempo_core.environment.commands import offline_pip_env, run_tool
from tempo_core.environment.installed import InstalledEnvironment
from tempo_core.environment.matching import matches
from tempo_core.environment.record import (
    ENVIRONMENT_DIR,
    LOCK_FILE,
    TARBALL_FILE,
    WHEELHOUSE_DIR,
    EnvironmentRecord,
    read_record,
)
from tempo_core.errors import EnvironmentCaptureError

logger = logging.getLogger(__name__)

_TEST_FOLDERS = r"[/\\]tests?[/\\]"


def ensure_python(folder: Path) -> Path:
    """The interpreter that runs the model saved in `folder`: this one when it matches the saved environment,
    else one built from the saved environment once and kept in ``$TEMPO_CACHE_DIR/venvs/``."""
    record = read_record(folder)
    environment_dir = folder / ENVIRONMENT_DIR
    if matches(environment_dir, record, InstalledEnvironment.current()):
        return Path(sys.executable)
    if record.kind == "conda":
        return unpack_conda(environment_dir, record)
    return build_venv(environment_dir, record)


def build_venv(environment_dir: Path, record: EnvironmentRecord) -> Path:
    """A byte-compiled virtualenv installed offline from the saved wheelhouse (once per content hash); its python."""
    venv = cache_root() / "venvs" / record.content_hash
    if build_in_place_once(venv, lambda target: _create_venv(target, environment_dir, record.python_version)):
        logger.info("Built the virtualenv %s", venv)
    return venv / "bin" / "python"


def unpack_conda(environment_dir: Path, record: EnvironmentRecord) -> Path:
    """The saved conda environment unpacked and relocated with ``conda-unpack`` (once per content hash); its python."""
    prefix = cache_root() / "venvs" / record.content_hash
    tarball = environment_dir / TARBALL_FILE
    if build_in_place_once(prefix, lambda target: _unpack_conda(tarball, target, record.python_version)):
        logger.info("Unpacked the conda environment %s", prefix)
    return prefix / "bin" / "python"


def _create_venv(venv: Path, environment_dir: Path, python_version: str) -> None:
    base = _base_python(python_version)
    python = venv / "bin" / "python"
    wheelhouse, lock = environment_dir / WHEELHOUSE_DIR, environment_dir / LOCK_FILE
    sources = ["--no-index", "--find-links", str(wheelhouse), "-r", str(lock)]
    action = f"Installing the saved environment {environment_dir} into {venv}"
    fix = "Save the model again with save_env=True so that its wheelhouse is complete."
    uv = shutil.which("uv")
    if uv is not None:
        run_tool([uv, "venv", "--quiet", "--allow-existing", "--python", str(base), str(venv)], action=action, fix=fix)
        install = [uv, "pip", "install", "--quiet", "--offline", "--python", str(python), *sources]
        run_tool(install, action=action, fix=fix)
    else:
        run_tool([str(base), "-m", "venv", "--without-pip", str(venv)], action=action, fix=fix)
        run_tool(
            [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-compile", *sources],
            action=action,
            fix=f"{fix} Installing needs pip in {sys.executable}, or uv on PATH.",
            env=offline_pip_env(),
        )
    byte_compile(python, venv / "lib" / f"python{python_version}" / "site-packages")


def _unpack_conda(tarball: Path, prefix: Path, python_version: str) -> None:
    with tarfile.open(tarball) as archive:
        # "tar", not "data": a conda environment may hold absolute symlinks.
        archive.extractall(prefix, filter="tar")
    python = prefix / "bin" / "python"
    run_tool(
        [str(python), str(prefix / "bin" / "conda-unpack")],
        action=f"Relocating the conda environment unpacked from {tarball} into {prefix}",
        fix="Save the model again with save_env=True on a machine of the same platform.",
    )
    byte_compile(python, prefix / "lib" / f"python{python_version}" / "site-packages")


def _base_python(version: str) -> Path:
    """An interpreter of Python `version` (``major.minor``) to base a virtualenv on."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return Path(sys.executable)
    found = shutil.which(f"python{version}")
    if found is None:
        raise EnvironmentCaptureError(
            f"The saved environment needs Python {version}, but this is Python {sys.version.split()[0]} and no "
            f"python{version} is on PATH. Install Python {version}, or save the model again with this Python."
        )
    return Path(found)


def byte_compile(python: Path, site_packages: Path) -> None:
    """Compile every module now: with PYTHONDONTWRITEBYTECODE set, imports would otherwise compile on each start.

    Test suites that distributions ship are never imported by a server; skipping them saves a third of the time.
    """
    command = [str(python), "-m", "compileall", "-q", "-j", "0", "-x", _TEST_FOLDERS, str(site_packages)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        # Some distributions ship files that are not valid Python on purpose (templates, test data).
        logger.debug("compileall left some files of %s uncompiled:\n%s", site_packages, result.stdout[-2000:])
