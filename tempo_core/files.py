"""Small file-system helpers: content hashes and atomic writes."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["sha256_of", "atomic_write_bytes", "staged_file", "iter_files"]

_CHUNK = 1 << 20


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file's content, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def staged_file(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; on success it replaces `target`, on failure it is removed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    staged = Path(name)
    try:
        yield staged
        with open(staged, "rb") as written:
            os.fsync(written.fileno())
        os.replace(staged, target)
    finally:
        staged.unlink(missing_ok=True)


def atomic_write_bytes(target: Path, data: bytes) -> None:
    """Write `data` to `target` so that readers see the old content or the new, never a part."""
    with staged_file(target) as staged:
        staged.write_bytes(data)


def iter_files(folder: Path, *, skip: set[str]) -> Iterator[Path]:
    """Every regular file under `folder`, sorted, except names in `skip` and hidden staging files."""
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_file() and relative.as_posix() not in skip and not relative.name.startswith("."):
            yield path
