"""Moving saved artifacts to and from their `uri` through the uploader registered for its scheme."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tempo_core.artifact import ensure_saved, read_index
from tempo_core.errors import UploadError
from tempo_core.model import Servable, as_servable
from tempo_core.options import RuntimeOptions
from tempo_core.plugins import get_plugins
from tempo_core.uploader import Uploader

if TYPE_CHECKING:
    from tempo_core.environment.target import ServerTarget

__all__ = ["upload", "download", "uploader_for"]

logger = logging.getLogger(__name__)


def uploader_for(uri: str) -> Uploader:
    """A new uploader for the URI's scheme (`s3://...` -> the uploader registered for `s3`)."""
    scheme, separator, _ = uri.partition("://")
    if not separator:
        scheme, separator, _ = uri.partition(":")
    if not separator or not scheme:
        raise UploadError(f"uri {uri!r} has no scheme; write it as s3://bucket/path, gs://bucket/path or file:///path")
    uploaders = get_plugins().uploaders
    return uploaders.get(scheme if scheme in uploaders or "*" not in uploaders else "*")()


def upload(obj: Any, options: RuntimeOptions | None = None) -> str:
    """Copy a saved model's `local_folder` to its `uri` (a pipeline's children too); returns the uri.

    Custom code is saved first when its folder does not hold it as it is now, so an edit is what gets uploaded.

    A custom model or pipeline first gets an environment.tar.gz built for the server image of the cluster runtime
    that `options` (else the model's own runtime options) name, by default for the stock MLServer 1.7.1 image.
    """
    from tempo_core.pipeline import Pipeline

    servable = as_servable(obj)
    ensure_saved(servable)
    if isinstance(servable, Pipeline):
        for child in servable.models:
            upload(child, options)
    details = servable.details
    if not details.uri:
        raise UploadError(f"model '{details.name}' has no uri; set uri='s3://bucket/path' where it is defined")
    if not details.local_folder:
        raise UploadError(f"model '{details.name}' has no local_folder to upload; set local_folder and save it first")
    folder = Path(details.local_folder)
    index = read_index(folder)
    if details.platform.is_custom_code:
        target = _server_target(servable, options)
        if target is None:
            logger.info(
                "Model '%s' gets no environment.tar.gz: its runtime needs none (serverImage is set, or it runs "
                "off-cluster)",
                details.name,
            )
        elif index.environment is None:
            logger.warning(
                "Model '%s' was saved without its environment, so the stock MLServer image cannot serve it; save it "
                "with save_env=True, or set serverImage",
                details.name,
            )
        else:
            from tempo_core.environment.server_environment import pack_server_environment

            pack_server_environment(folder, target)
    uploader_for(details.uri).upload(folder, details.uri)
    return details.uri


def _server_target(servable: Servable, options: RuntimeOptions | None) -> ServerTarget | None:
    """What the environment tarball is built for: the options', else the model's runtime options', else the
    stock MLServer image's."""
    from tempo_core.environment.target import ServerTarget

    chosen = options or servable.runtime_options
    if chosen is None or (options is None and chosen.manifest_target is None):  # the model's are not a cluster's
        return ServerTarget()
    return chosen.server_target()


def download(obj_or_uri: Any, folder: str | os.PathLike[str]) -> Path:
    """Copy an artifact from a uri (or a model's uri) into `folder`, then check every file's hash."""
    uri = obj_or_uri if isinstance(obj_or_uri, str) else as_servable(obj_or_uri).details.uri
    if not uri:
        raise UploadError(f"{obj_or_uri!r} has no uri to download from; pass the uri itself")
    target = Path(folder)
    uploader_for(uri).download(uri, target)
    read_index(target)
    return target
