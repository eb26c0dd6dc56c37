"""Small file-system helpers: content hashes and atomic writes."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

__all__ = ["sha256_of", "folder_digest", "atomic_write_bytes", "staged_file", "iter_files", "replace_folder"]

_CHUNK = 1 << 20
_PLAIN_FILE_MODE = 0o666


def _umask() -> int:
    """The process's umask (reading it means setting it, so it is set back at once)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file's content, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def folder_digest(folder: Path) -> str:
    """A digest of every file's path, size and modification time under `folder` (no file is read): it changes when
    anything in the folder is saved again, so a runtime can tell whether a running server serves what is there now."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            stat = path.stat()
            digest.update(f"{path.relative_to(folder).as_posix()}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


@contextlib.contextmanager
def staged_file(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; on success it replaces `target`, on failure it is removed.

    The new file gets the mode a plain write would give it (0666 less the umask), not mkstemp's private 0600:
    a server running as another user (a container's, a cluster's) reads the folders tempo writes.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.fchmod(handle, _PLAIN_FILE_MODE & ~_umask())
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
    """Every regular file under `folder`, sorted, except paths in or under `skip` and hidden ones."""
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        hidden = any(part.startswith(".") for part in relative.parts)
        skipped = any(relative.as_posix() == item or relative.as_posix().startswith(item + "/") for item in skip)
        if path.is_file() and not hidden and not skipped:
            yield path


def replace_folder(new: Path, target: Path) -> None:
    """Put the folder `new` in place of `target` by renames; if that fails, `target` is left as it was."""
    if not target.exists():
        new.rename(target)
        return
    previous = target.with_name(f".{target.name}-old-{uuid.uuid4().hex[:8]}")
    target.rename(previous)
    try:
        new.rename(target)
    except BaseException:
        previous.rename(target)
        raise
    shutil.rmtree(previous, ignore_errors=True)
