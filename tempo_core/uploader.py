"""The Uploader contract: copy an artifact folder to and from a URI."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

__all__ = ["Uploader"]


class Uploader(ABC):
    """Moves artifact folders between this machine and a URI; registered by URI scheme."""

    @abstractmethod
    def upload(self, folder: Path, uri: str) -> None:
        """Copy every file of `folder` to `uri`, replacing what is there."""

    @abstractmethod
    def download(self, uri: str, folder: Path) -> None:
        """Copy every file under `uri` into `folder`."""
