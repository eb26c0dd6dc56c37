"""Moving saved artifacts to and from their `uri` through the uploader registered for its scheme."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tempo_core.artifact import read_manifest
from tempo_core.errors import UploadError
from tempo_core.model import as_servable
from tempo_core.plugins import get_plugins
from tempo_core.uploader import Uploader

__all__ = ["upload", "download", "uploader_for"]


def uploader_for(uri: str) -> Uploader:
    """A new uploader for the URI's scheme (`s3://...` -> the uploader registered for `s3`)."""
    scheme, separator, _ = uri.partition("://")
    if not separator:
        scheme, separator, _ = uri.partition(":")
    if not separator or not scheme:
        raise UploadError(f"uri {uri!r} has no scheme; write it as s3://bucket/path, gs://bucket/path or file:///path")
    uploaders = get_plugins().uploaders
    return uploaders.get(scheme if scheme in uploaders or "*" not in uploaders else "*")()


def upload(obj: Any) -> str:
    """Copy a saved model's `local_folder` to its `uri` (a pipeline's children too); returns the uri."""
    from tempo_core.pipeline import Pipeline

    servable = as_servable(obj)
    if isinstance(servable, Pipeline):
        for child in servable.models:
            upload(child)
    details = servable.details
    if not details.uri:
        raise UploadError(f"model '{details.name}' has no uri; set uri='s3://bucket/path' where it is defined")
    if not details.local_folder:
        raise UploadError(f"model '{details.name}' has no local_folder to upload; set local_folder and save it first")
    read_manifest(details.local_folder)
    uploader_for(details.uri).upload(Path(details.local_folder), details.uri)
    return details.uri


def download(obj_or_uri: Any, folder: str | os.PathLike[str]) -> Path:
    """Copy an artifact from a uri (or a model's uri) into `folder`, then check every file's hash."""
    uri = obj_or_uri if isinstance(obj_or_uri, str) else as_servable(obj_or_uri).details.uri
    if not uri:
        raise UploadError(f"{obj_or_uri!r} has no uri to download from; pass the uri itself")
    target = Path(folder)
    uploader_for(uri).download(uri, target)
    read_manifest(target)
    return target
