"""Editable installs: where their code lives, and a fingerprint of it that does not read every file."""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
from dataclasses import dataclass
from importlib.machinery import EXTENSION_SUFFIXES
from importlib.metadata import Distribution
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

from tempo_core.environment.installed import recorded_files, site_folder

_FINDER = re.compile(r"^__editable___.*_finder\.py$")
# Folders of a project tree that never hold its source: VCS data, build output, caches, virtualenvs.
_NOT_SOURCE = frozenset({"__pycache__", "build", "dist", "node_modules"})


@dataclass(frozen=True)
class SourceFile:
    """A file of an editable install's code and its path inside a wheel."""

    arcname: str
    path: Path


@dataclass(frozen=True)
class EditableSource:
    """The code of an editable install: its project folder and, when the install maps them, its package files.

    Without package files (a ``.pth`` that names a folder but no top-level names), the wheel is built from
    `project_files` by the project's own build backend.
    """

    dist: Distribution
    project: Path
    package_files: tuple[SourceFile, ...] | None

    def fingerprint(self) -> str:
        """A hash of the installed metadata and each source file's path, size and mtime (no file is read)."""
        digest = hashlib.sha256((self.dist.read_text("METADATA") or "").encode())
        for source in self.package_files if self.package_files is not None else self.project_files():
            stat = source.path.stat()
            digest.update(f"{source.arcname}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        return digest.hexdigest()

    def project_files(self) -> list[SourceFile]:
        """Every file of the project folder but VCS data, build output, caches and virtualenvs."""
        files: list[SourceFile] = []
        for folder, dirnames, filenames in os.walk(self.project):
            here = Path(folder)
            dirnames[:] = sorted(name for name in dirnames if _holds_source(here / name))
            files.extend(
                SourceFile((here / name).relative_to(self.project).as_posix(), here / name)
                for name in sorted(filenames)
                if not name.endswith(".pyc")
            )
        return files


def editable_source(dist: Distribution) -> EditableSource | None:
    """Where `dist`'s code lives when it is an editable install (``pip install -e``), else None."""
    text = dist.read_text("direct_url.json")
    if text is None:
        return None
    direct_url = json.loads(text)
    if not direct_url.get("dir_info", {}).get("editable", False):
        return None
    project = Path(url2pathname(urlparse(direct_url["url"]).path))
    mapping = _finder_mapping(dist) or _pth_mapping(dist)
    package_files = tuple(_package_files(mapping)) if mapping else None
    return EditableSource(dist=dist, project=project, package_files=package_files)


def _finder_mapping(dist: Distribution) -> dict[str, Path]:
    """Top-level names to paths, from the finder module that setuptools writes for an editable install."""
    for entry in recorded_files(dist):
        if _FINDER.match(entry):
            tree = ast.parse((site_folder(dist) / entry).read_text(encoding="utf-8"))
            for node in tree.body:
                value = _assigned_value(node, "MAPPING")
                if value is not None:
                    return {name: Path(path) for name, path in ast.literal_eval(value).items()}
    return {}


def _assigned_value(node: ast.stmt, name: str) -> ast.expr | None:
    """The expression assigned to the module-level `name` by `node`, if `node` assigns it."""
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, ast.AnnAssign):
        targets = [node.target]
    else:
        return None
    assigned = {target.id for target in targets if isinstance(target, ast.Name)}
    return node.value if name in assigned else None


def _pth_mapping(dist: Distribution) -> dict[str, Path]:
    """Top-level names to paths, from a ``.pth`` that puts a folder on sys.path and the dist's top_level.txt."""
    top_level = (dist.read_text("top_level.txt") or "").split()
    roots = [
        site_folder(dist) / line.strip()
        for entry in recorded_files(dist)
        if entry.endswith(".pth")
        for line in (site_folder(dist) / entry).read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith(("import ", "import\t", "#"))
    ]
    mapping: dict[str, Path] = {}
    for root in roots:
        for name in top_level:
            suffixes = ["", ".py", *EXTENSION_SUFFIXES]
            candidates = [root / f"{name}{suffix}" for suffix in suffixes]
            found = next((candidate for candidate in candidates if candidate.exists()), None)
            if found is not None:
                mapping[name] = found
    return mapping if top_level and len(mapping) == len(top_level) else {}


def _package_files(mapping: dict[str, Path]) -> list[SourceFile]:
    files: list[SourceFile] = []
    for name, path in sorted(mapping.items()):
        if path.is_file():
            files.append(SourceFile(path.name, path))
            continue
        for folder, dirnames, filenames in os.walk(path):
            here = Path(folder)
            dirnames[:] = sorted(dirname for dirname in dirnames if dirname != "__pycache__")
            prefix = Path(name) / here.relative_to(path)
            files.extend(
                SourceFile((prefix / filename).as_posix(), here / filename)
                for filename in sorted(filenames)
                if not filename.endswith(".pyc")
            )
    return files


def _holds_source(folder: Path) -> bool:
    name = folder.name
    return not (
        name.startswith(".") or name in _NOT_SOURCE or name.endswith(".egg-info") or (folder / "pyvenv.cfg").exists()
    )
