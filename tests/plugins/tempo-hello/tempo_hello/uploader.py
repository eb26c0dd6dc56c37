"""Copies artifact folders into $TEMPO_HELLO_ROOT/<path> for `hello://<path>` URIs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tempo_core.uploader import Uploader


def _target(uri: str) -> Path:
    return Path(os.environ["TEMPO_HELLO_ROOT"]) / uri.removeprefix("hello://")


class HelloUploader(Uploader):
    """Copies folders to and from a local root, standing in for a bucket."""

    def upload(self, folder: Path, uri: str) -> None:
        """Copy `folder` to the root."""
        shutil.copytree(folder, _target(uri), dirs_exist_ok=True)

    def download(self, uri: str, folder: Path) -> None:
        """Copy from the root into `folder`."""
        shutil.copytree(_target(uri), folder, dirs_exist_ok=True)
