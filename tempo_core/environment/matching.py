"""Whether an interpreter already has a saved environment, so that it can run the model as it is."""

from __future__ import annotations

from pathlib import Path

from packaging.version import InvalidVersion, Version

from tempo_core.environment.conda import conda_lock_text
from tempo_core.environment.installed import InstalledEnvironment
from tempo_core.environment.record import CONDA_LOCK_FILE, ENVIRONMENT_DIR, LOCK_FILE, EnvironmentRecord, read_record


def environment_matches_current(folder: Path) -> bool:
    """Whether the running interpreter satisfies the environment saved in `folder`: the same Python minor
    version and every pinned ``name==version`` installed (and for conda, every pinned conda package)."""
    return matches(folder / ENVIRONMENT_DIR, read_record(folder), InstalledEnvironment.current())


def matches(environment_dir: Path, record: EnvironmentRecord, installed: InstalledEnvironment) -> bool:
    """Whether `installed` satisfies the saved environment in `environment_dir` described by `record`."""
    if record.python_version != installed.python_version:
        return False
    distributions = installed.distributions()
    for line in (environment_dir / LOCK_FILE).read_text(encoding="utf-8").split():
        name, _, version = line.partition("==")
        dist = distributions.get(name)
        if dist is None or not _same_version(dist.version, version):
            return False
    if record.kind == "conda":
        if not installed.is_conda:
            return False
        wanted = set((environment_dir / CONDA_LOCK_FILE).read_text(encoding="utf-8").split())
        return wanted <= set(conda_lock_text(installed.prefix).split())
    return True


def _same_version(installed: str, pinned: str) -> bool:
    try:
        return Version(installed) == Version(pinned)
    except InvalidVersion:
        return installed == pinned
