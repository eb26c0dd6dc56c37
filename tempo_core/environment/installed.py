"""The Python installation whose distributions are captured: its prefix, its Python and its distributions."""

from __future__ import annotations

import csv
import os
import sys
import sysconfig
from dataclasses import dataclass
from importlib.metadata import Distribution, distributions
from pathlib import Path

from packaging.utils import canonicalize_name

from tempo_core.errors import EnvironmentCaptureError


@dataclass(frozen=True)
class InstalledDistribution:
    """An installed distribution with the metadata a capture needs, read once: `name` is canonical."""

    name: str
    version: str
    requires: tuple[str, ...]
    dist: Distribution

    @property
    def pin(self) -> str:
        """The requirement-file line that pins it, ``name==version``."""
        return f"{self.name}=={self.version}"


@dataclass(frozen=True)
class InstalledEnvironment:
    """A Python installation: its prefix, its ``major.minor`` version and the paths its distributions live on."""

    prefix: Path
    python_version: str
    paths: tuple[str, ...]

    @classmethod
    def current(cls) -> InstalledEnvironment:
        """The installation of the running interpreter."""
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        return cls(prefix=Path(sys.prefix), python_version=version, paths=tuple(sys.path))

    @property
    def is_conda(self) -> bool:
        """Whether conda manages this installation (its prefix has a ``conda-meta`` folder)."""
        return (self.prefix / "conda-meta").is_dir()

    @property
    def platform(self) -> str:
        """The platform its compiled distributions are built for, e.g. ``linux-x86_64``."""
        return sysconfig.get_platform()

    def distributions(self) -> dict[str, InstalledDistribution]:
        """Every installed distribution by canonical name, the one Python would import first winning.

        A source tree on the path (``*.egg-info`` beside a project) loses to the installed copy of the same
        distribution, which an installer recorded. Read once while no folder on the path changes (an install
        or uninstall changes its folder's mtime), as importlib.metadata caches its own lookups.
        """
        key = _path_state(self.paths)
        found = _SCANNED.get(key)
        if found is None:
            found = self._scan()
            _SCANNED.clear()
            _SCANNED[key] = found
        return dict(found)

    def _scan(self) -> dict[str, InstalledDistribution]:
        found: dict[str, InstalledDistribution] = {}
        for dist in distributions(path=list(self.paths)):
            installed = _read(dist)
            if installed is None:
                continue
            name = installed.name
            if name not in found or (not _was_installed(found[name].dist) and _was_installed(dist)):
                found[name] = installed
        return found


# The last scan of installed distributions, by the paths scanned and each one's modification time.
_SCANNED: dict[tuple[tuple[str, int], ...], dict[str, InstalledDistribution]] = {}


def _path_state(paths: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
    state = []
    for path in paths:
        try:
            state.append((path, os.stat(path or ".").st_mtime_ns))
        except OSError:
            state.append((path, -1))
    return tuple(state)


def _read(dist: Distribution) -> InstalledDistribution | None:
    """Only the metadata headers: `Distribution.metadata` parses the whole long description on every access."""
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    headers = _headers(text.replace("\r\n", "\n").partition("\n\n")[0])
    name, version = headers.get("name", [""])[0], headers.get("version", [""])[0]
    if not name or not version:
        return None
    requires = headers.get("requires-dist", [])
    if not requires and dist.read_text("requires.txt") is not None:  # an egg-info keeps them apart
        requires = dist.requires or []
    return InstalledDistribution(canonicalize_name(name), str(version), tuple(requires), dist)


def _headers(block: str) -> dict[str, list[str]]:
    """The values of each header in a metadata header block, by lowercase name (folded lines joined).

    A fifth of the time of `email.parser` for the few headers read here, over hundreds of distributions.
    """
    headers: dict[str, list[str]] = {}
    values: list[str] | None = None
    for line in block.split("\n"):
        if line[:1] in (" ", "\t") and values:
            values[-1] = f"{values[-1]} {line.strip()}"
            continue
        key, colon, value = line.partition(":")
        if colon:
            values = headers.setdefault(key.strip().lower(), [])
            values.append(value.strip())
    return headers


def _was_installed(dist: Distribution) -> bool:
    return dist.read_text("RECORD") is not None


def recorded_files(dist: Distribution) -> list[str]:
    """The paths in `dist`'s RECORD, relative to the folder its ``.dist-info`` lives in."""
    text = dist.read_text("RECORD")
    if text is None:
        name = dist.metadata["Name"]
        raise EnvironmentCaptureError(
            f"{name} {dist.version} has no RECORD of its installed files (it was not installed by pip or "
            f"a standard installer), so it cannot be packed. Reinstall it with: pip install --force-reinstall {name}"
        )
    return [row[0] for row in csv.reader(text.splitlines()) if row]


def site_folder(dist: Distribution) -> Path:
    """The folder `dist`'s ``.dist-info`` lives in, that its RECORD paths are relative to."""
    return Path(str(dist.locate_file("")))
