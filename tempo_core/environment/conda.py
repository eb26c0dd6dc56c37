"""Packing a conda environment with conda-pack, into the tarball MLServer's ``environment_tarball`` loads."""

from __future__ import annotations

import importlib
import json
import os
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from types import ModuleType
from typing import Any

from tqdm import tqdm

from tempo_core.environment.editable import EditableSource
from tempo_core.environment.installed import InstalledDistribution, recorded_files, site_folder
from tempo_core.environment.wheels import build_wheel
from tempo_core.errors import EnvironmentCaptureError


def conda_lock_text(prefix: Path) -> str:
    """The conda packages installed in `prefix`, one sorted ``name=version=build`` line each."""
    lines = []
    for path in (prefix / "conda-meta").glob("*.json"):
        record = json.loads(path.read_text(encoding="utf-8"))
        lines.append(f"{record['name']}={record['version']}={record['build']}\n")
    return "".join(sorted(lines))


def pack_conda(prefix: Path, output: Path, editables: Sequence[tuple[InstalledDistribution, EditableSource]]) -> None:
    """Pack the conda environment at `prefix` into the tarball `output`.

    Editable installs would point back to their source folders; their code is packed in their place instead.
    """
    conda_pack = _import_conda_pack(prefix)
    history = prefix / "conda-meta" / "history"
    if not history.is_file():
        # conda-pack 0.9 dates every archive member by it and fails with "mtime may not be None" without it.
        raise EnvironmentCaptureError(
            f"The conda environment {prefix} has no {history}, which conda writes on every change and conda-pack "
            f"needs. Create it with: touch {history}"
        )
    try:
        env = conda_pack.CondaEnv.from_prefix(str(prefix), ignore_editable_packages=True)
        with tempfile.TemporaryDirectory(prefix="tempo-conda-") as scratch:
            if editables:
                env = _with_packed_editables(conda_pack, env, prefix, editables, Path(scratch))
            # conda-pack iterates env.files while packing; a tqdm over them is its progress bar.
            env.files = tqdm(env.files, desc="Packing conda environment", unit="file", disable=not sys.stderr.isatty())
            env.pack(output=str(output), format="tar.gz", n_threads=-1)
    except conda_pack.CondaPackException as error:
        raise EnvironmentCaptureError(f"conda-pack could not pack the conda environment {prefix}: {error}") from error


def _import_conda_pack(prefix: Path) -> ModuleType:
    try:
        return importlib.import_module("conda_pack")
    except ImportError as error:
        raise EnvironmentCaptureError(
            f"Saving the conda environment {prefix} needs conda-pack. Install it with: pip install conda-pack"
        ) from error


def _with_packed_editables(
    conda_pack: ModuleType,
    env: Any,
    prefix: Path,
    editables: Sequence[tuple[InstalledDistribution, EditableSource]],
    scratch: Path,
) -> Any:
    """`env` with each editable install's files in site-packages replaced by the files of its wheel."""
    replaced: set[str] = set()
    added = []
    for item, editable in editables:
        site = site_folder(item.dist).relative_to(prefix)
        replaced.update(
            (site / os.path.normpath(entry)).as_posix()
            for entry in recorded_files(item.dist)
            if not os.path.normpath(entry).startswith("..")
        )
        unpacked = scratch / item.name
        with zipfile.ZipFile(build_wheel(item, editable, scratch)) as wheel:
            for member in wheel.namelist():
                target = _site_target(member)
                if target is not None:
                    source = Path(wheel.extract(member, unpacked))
                    added.append(conda_pack.File(str(source), (site / target).as_posix(), is_conda=False))
    kept = [file for file in env.files if file.target not in replaced]
    return conda_pack.CondaEnv(env.prefix, kept + added)


def _site_target(member: str) -> str | None:
    """Where a wheel member is installed, relative to site-packages; None for scripts and data files."""
    parts = PurePosixPath(member).parts
    if parts[0].endswith(".data"):
        return PurePosixPath(*parts[2:]).as_posix() if parts[1] in ("purelib", "platlib") else None
    return member
