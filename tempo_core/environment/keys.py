"""What identifies built content in the cache: one distribution's wheel, and a whole environment."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from tempo_core.environment.cache import content_hash
from tempo_core.environment.editable import EditableSource
from tempo_core.environment.installed import InstalledDistribution, InstalledEnvironment


def source_key(item: InstalledDistribution, editable: EditableSource | None) -> str:
    """What `name==version` does not pin about an installed distribution's code; empty for an index install.

    An editable install's code is its source files. A distribution installed from a folder or a file rather
    than an index may hold other code under the same version, so the file hashes in its RECORD count.
    """
    if editable is not None:
        return f"source {editable.fingerprint()}"
    if item.dist.read_text("direct_url.json") is not None:
        record = (item.dist.read_text("RECORD") or "").encode()
        return f"record {hashlib.sha256(record).hexdigest()}"
    return ""


def wheel_key(item: InstalledDistribution, editable: EditableSource | None, installed: InstalledEnvironment) -> str:
    """The key of the wheel repacked from `item`, shared by every environment that pins the same install."""
    return content_hash([item.pin, installed.python_version, installed.platform, source_key(item, editable)])


def environment_key(
    kind: str,
    installed: InstalledEnvironment,
    locks: Sequence[str],
    locked: Sequence[InstalledDistribution],
    editables: Mapping[str, EditableSource],
) -> str:
    """The content hash of an environment: its kind, Python, platform, lock files and unpinned code."""
    sources = [f"{item.name} {key}" for item in locked if (key := source_key(item, editables.get(item.name)))]
    return content_hash([kind, installed.python_version, installed.platform, *locks, *sources])
