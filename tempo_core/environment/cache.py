"""tempo's on-disk cache of environments: where it is, how entries are keyed, built once and shared."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

logger = logging.getLogger(__name__)

_READY_MARKER = ".tempo-ready"
_MANIFEST = ".tempo-manifest.json"


def cache_root() -> Path:
    """The cache folder: ``$TEMPO_CACHE_DIR``, else ``~/.cache/tempo``."""
    configured = os.environ.get("TEMPO_CACHE_DIR")
    return Path(configured) if configured else Path.home() / ".cache" / "tempo"


def content_hash(parts: Iterable[str]) -> str:
    """A short, stable hash of `parts`, taken in order."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:32]


def build_once(target: Path, build: Callable[[Path], object]) -> bool:
    """Make the folder `target` with `build` unless it exists; return whether it was built now.

    `build` fills a temporary sibling that is renamed into place, so `target` is complete or absent. Use it for
    content that may move (wheels, tarballs), not for trees that record their own location. Artifacts hard-link
    the cached files, so an artifact file edited in place edits the cache too: a manifest of each file's size and
    mtime tells, and such an entry is built again.
    """
    if target.is_dir():
        if _intact(target):
            return False
        logger.warning("%s changed after it was cached (a hard-linked copy edited in place?); rebuilding it", target)
        _discard(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        build(staging)
        _write_manifest(staging)
        staging.chmod(0o755)
        try:
            staging.rename(target)
        except OSError as error:
            if error.errno not in (errno.EEXIST, errno.ENOTEMPTY) or not target.is_dir():
                raise
            logger.debug("%s was built by another process meanwhile; using that one", target)
            return False
        return True
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def build_in_place_once(target: Path, build: Callable[[Path], object]) -> bool:
    """Make the folder `target` with `build` unless it is complete; return whether it was built now.

    For trees that record their own location (a virtualenv, an unpacked conda environment) and so cannot be
    renamed: a lock file serialises builders, and a marker written last tells a complete tree from a broken one.
    """
    marker = target / _READY_MARKER
    if marker.exists():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists():
            return False
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir()
        try:
            build(target)
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise
        marker.touch()
        return True


def link_files(source: Path, destination: Path) -> list[Path]:
    """Hard-link every file under `source` into `destination` (copying when links fail); return the new paths.

    Cached files are then shared by every artifact that uses them, with no second copy on disk.
    """
    linked: list[Path] = []
    for path in sorted(source.rglob("*")):
        if not path.is_file() or path.name == _MANIFEST:
            continue
        target = destination / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, target)
        except OSError:  # another device, or a file system without hard links
            shutil.copy2(path, target)
        linked.append(target)
    return linked


def _write_manifest(folder: Path) -> None:
    files = {
        path.relative_to(folder).as_posix(): [path.stat().st_size, path.stat().st_mtime_ns]
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }
    (folder / _MANIFEST).write_text(json.dumps(files), encoding="utf-8")


def _intact(folder: Path) -> bool:
    """Whether every file of a cached entry still has the size and mtime it was cached with (none is read)."""
    try:
        files = json.loads((folder / _MANIFEST).read_text(encoding="utf-8"))
        stats = {name: (folder / name).stat() for name in files}
    except (OSError, ValueError):
        return False
    return all([stat.st_size, stat.st_mtime_ns] == files[name] for name, stat in stats.items())


def _discard(folder: Path) -> None:
    """Remove `folder`, renaming it aside first so that it vanishes from its name at once."""
    aside = folder.with_name(f".{folder.name}-stale-{uuid.uuid4().hex[:8]}")
    try:
        folder.rename(aside)
    except FileNotFoundError:  # another process discarded it first
        return
    shutil.rmtree(aside, ignore_errors=True)
