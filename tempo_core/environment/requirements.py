"""Reading the requirements a model declares: a requirements.txt or the pip list of a conda.yaml."""

from __future__ import annotations

import logging
from pathlib import Path

import yaml
from packaging.requirements import InvalidRequirement, Requirement

from tempo_core.errors import EnvironmentCaptureError

logger = logging.getLogger(__name__)

_INCLUDE_OPTIONS = ("-r", "--requirement")


def read_requirements(path: Path) -> list[Requirement]:
    """The requirements listed in `path`: a conda.yaml's pip list, or a requirements.txt (following ``-r``)."""
    if not path.is_file():
        raise EnvironmentCaptureError(f"Requirements file {path} does not exist. Pass the path of an existing file.")
    if path.suffix in (".yaml", ".yml"):
        return [parse_requirement(line, str(path)) for line in _conda_pip_lines(path) if not line.startswith("-")]
    return _read_requirements_txt(path)


def parse_requirement(text: str, source: str) -> Requirement:
    """`text` as a requirement; `source` names where it came from in the error when it is not one."""
    try:
        return Requirement(text)
    except InvalidRequirement as error:
        message = f"Invalid requirement {text!r} in {source}: {error}. Fix or remove it."
        raise EnvironmentCaptureError(message) from error


def _read_requirements_txt(path: Path) -> list[Requirement]:
    requirements: list[Requirement] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        option, _, value = line.partition(" ")
        if option in _INCLUDE_OPTIONS:
            requirements.extend(_read_requirements_txt(path.parent / value.strip()))
        elif line.startswith("-"):
            logger.warning("Ignoring the pip option %r in %s: only requirements are captured", line, path)
        else:
            requirements.append(parse_requirement(line, str(path)))
    return requirements


def _conda_pip_lines(path: Path) -> list[str]:
    spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    dependencies = spec.get("dependencies", []) if isinstance(spec, dict) else []
    lines: list[str] = []
    for dependency in dependencies:
        if isinstance(dependency, dict) and isinstance(dependency.get("pip"), list):
            lines.extend(str(item).strip() for item in dependency["pip"])
    return lines
