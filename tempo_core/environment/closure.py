"""Which installed distributions a saved environment pins: the closure of the requirements over what is installed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tempo_core.environment.installed import InstalledDistribution
from tempo_core.environment.requirements import parse_requirement
from tempo_core.errors import EnvironmentCaptureError

# Installers, not dependencies: pinned only when something requires them.
_INSTALL_TOOLS = frozenset({"pip", "setuptools", "wheel"})


def lock_distributions(
    installed: Mapping[str, InstalledDistribution],
    requirements: Sequence[Requirement] | None,
    include: Sequence[Requirement],
    prefix: Path,
) -> list[InstalledDistribution]:
    """The distributions to pin, sorted by name: the closure of `requirements` (every installed distribution
    but the install tools when None) and of `include`, over `installed` (found in `prefix`)."""
    closure = _Closure(installed, prefix)
    if requirements is None:
        for name in installed:
            if name not in _INSTALL_TOOLS:
                closure.add(Requirement(name), required_by=None)
    else:
        for requirement in requirements:
            closure.add(requirement, required_by=None)
    for requirement in include:
        closure.add(requirement, required_by=None)
    return [installed[name] for name in sorted(closure.names)]


def lock_everything(installed: Mapping[str, InstalledDistribution]) -> list[InstalledDistribution]:
    """Every distribution in `installed`, sorted by name: what a packed conda environment holds."""
    return [installed[name] for name in sorted(installed)]


def lock_text(locked: Sequence[InstalledDistribution]) -> str:
    """The requirements.lock file: one sorted ``name==version`` line per pinned distribution."""
    return "".join(f"{item.pin}\n" for item in locked)


class _Closure:
    """Walks Requires-Dist over installed distributions, evaluating markers and extras."""

    def __init__(self, installed: Mapping[str, InstalledDistribution], prefix: Path) -> None:
        self._installed = installed
        self._prefix = prefix
        self._extras_done: dict[str, set[str]] = {}

    @property
    def names(self) -> list[str]:
        return list(self._extras_done)

    def add(self, requirement: Requirement, required_by: str | None) -> None:
        name = canonicalize_name(requirement.name)
        dist = self._installed.get(name)
        if dist is None:
            raise EnvironmentCaptureError(self._not_installed(requirement, required_by))
        if required_by is None and not requirement.specifier.contains(dist.version, prereleases=True):
            raise EnvironmentCaptureError(
                f"{_install_spec(requirement)!r} is required, but {name} {dist.version} is installed in "
                f"{self._prefix}. Install a matching version with: pip install {_install_spec(requirement)!r}"
            )
        done = self._extras_done.setdefault(name, set())
        extras = ({""} | {canonicalize_name(extra) for extra in requirement.extras}) - done
        if not extras:
            return
        done.update(extras)
        for text in dist.requires:
            dependency = parse_requirement(text, f"the metadata of {name} {dist.version}")
            if dependency.marker is None:
                applies = "" in extras
            else:
                marker = dependency.marker
                applies = any(marker.evaluate({"extra": extra}) for extra in extras)
            if applies:
                self.add(dependency, required_by=f"{name} {dist.version}")

    def _not_installed(self, requirement: Requirement, required_by: str | None) -> str:
        spec = _install_spec(requirement)
        needed = f" (required by {required_by})" if required_by else ""
        return (
            f"{spec!r}{needed} is not installed in {self._prefix}, so its environment cannot be captured. "
            f"Install it with: pip install {spec!r}"
        )


def _install_spec(requirement: Requirement) -> str:
    extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
    return f"{requirement.name}{extras}{requirement.specifier}"
