"""Capturing the environment that runs a saved model into its artifact folder, through the cache."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

from tempo_core.environment.atomic import replacing_folder
from tempo_core.environment.cache import build_once, cache_root, link_files
from tempo_core.environment.closure import lock_distributions, lock_everything, lock_text
from tempo_core.environment.conda import conda_lock_text, pack_conda
from tempo_core.environment.editable import EditableSource, editable_source
from tempo_core.environment.installed import InstalledDistribution, InstalledEnvironment
from tempo_core.environment.keys import environment_key
from tempo_core.environment.record import (
    CONDA_LOCK_FILE,
    ENVIRONMENT_DIR,
    LOCK_FILE,
    RECORD_FILE,
    TARBALL_FILE,
    WHEELHOUSE_DIR,
    EnvironmentRecord,
    write_record,
)
from tempo_core.environment.requirements import parse_requirement, read_requirements
from tempo_core.environment.target import wheel_platform
from tempo_core.environment.wheelhouse import build_wheelhouse
from tempo_core.errors import EnvironmentCaptureError

logger = logging.getLogger(__name__)


def capture_environment(
    folder: Path, *, requirements: Path | Sequence[str] | None = None, include: Sequence[str] = ()
) -> EnvironmentRecord:
    """Save the running interpreter's environment into ``folder/environment/`` and return its record.

    A conda environment is conda-packed whole; otherwise the closure of `requirements` (a requirements file,
    requirement strings, or all installed distributions when None) and of `include` is pinned in a lock
    beside a wheelhouse to rebuild it offline.
    """
    return capture(folder, InstalledEnvironment.current(), requirements=requirements, include=include)


def capture(
    folder: Path,
    installed: InstalledEnvironment,
    *,
    requirements: Path | Sequence[str] | None,
    include: Sequence[str],
) -> EnvironmentRecord:
    """Save the environment of `installed` into ``folder/environment/``; `capture_environment` for any install."""
    wanted = None
    if isinstance(requirements, Path):
        wanted = read_requirements(requirements)
    elif requirements is not None:
        wanted = [parse_requirement(text, "the requirements given") for text in requirements]
    extra = [parse_requirement(name, "the names to include") for name in include]
    distributions = installed.distributions()
    # Also checks that every requirement is installed, which matters for a conda environment packed whole.
    pinned = lock_distributions(distributions, wanted, extra, installed.prefix)
    locked = lock_everything(distributions) if installed.is_conda else pinned
    editables = {item.name: source for item in locked if (source := editable_source(item.dist)) is not None}
    lock = lock_text(locked)
    conda_lock = conda_lock_text(installed.prefix) if installed.is_conda else ""
    kind: Literal["conda", "venv"] = "conda" if installed.is_conda else "venv"
    key = environment_key(kind, installed, [lock, conda_lock], locked, editables)
    cached = cache_root() / "environments" / key
    try:
        built = build_once(cached, lambda staging: _fill(staging, installed, locked, editables, lock, conda_lock))
        logger.info("Environment %s %s", key, "built" if built else "reused from the cache")
        with replacing_folder(folder / ENVIRONMENT_DIR) as staging:
            linked = link_files(cached, staging)
            files = [path.relative_to(staging).as_posix() for path in linked] + [RECORD_FILE]
            record = EnvironmentRecord(
                kind=kind,
                content_hash=key,
                python_version=installed.python_version,
                platform=wheel_platform(installed.platform),
                pins=[item.pin for item in pinned] if installed.is_conda else None,
                files=sorted(f"{ENVIRONMENT_DIR}/{name}" for name in files),
            )
            write_record(staging, record)
    except OSError as error:
        message = f"Could not save the environment into {folder / ENVIRONMENT_DIR}: {error}. Free space or fix access."
        raise EnvironmentCaptureError(message) from error
    return record


def _fill(
    staging: Path,
    installed: InstalledEnvironment,
    locked: Sequence[InstalledDistribution],
    editables: Mapping[str, EditableSource],
    lock: str,
    conda_lock: str,
) -> None:
    (staging / LOCK_FILE).write_text(lock, encoding="utf-8")
    if installed.is_conda:
        (staging / CONDA_LOCK_FILE).write_text(conda_lock, encoding="utf-8")
        pairs = [(item, editables[item.name]) for item in locked if item.name in editables]
        pack_conda(installed.prefix, staging / TARBALL_FILE, pairs)
    else:
        build_wheelhouse(locked, editables, installed, staging / WHEELHOUSE_DIR)
