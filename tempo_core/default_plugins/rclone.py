"""The core's rclone uploader, registered like any plugin's."""

from __future__ import annotations

from tempo_core.hookspecs import hookimpl
from tempo_core.rclone import RcloneUploader
from tempo_core.registry import Register

# "*": any other rclone remote configured by the user, e.g. "myremote:bucket/path".
SCHEMES = ("s3", "gs", "file", "*")


@hookimpl
def tempo_register_uploaders(register: Register) -> None:
    """Register the rclone uploader for s3://, gs://, file:// and any configured rclone remote."""
    for scheme in SCHEMES:
        register(scheme, RcloneUploader)
