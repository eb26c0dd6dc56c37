"""The record of a saved environment, and the names of the files it is made of."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ValidationError

from tempo_core.errors import EnvironmentCaptureError

ENVIRONMENT_DIR = "environment"
RECORD_FILE = "environment.json"
LOCK_FILE = "requirements.lock"
CONDA_LOCK_FILE = "conda.lock"
WHEELHOUSE_DIR = "wheelhouse"
TARBALL_FILE = "environment.tar.gz"


class EnvironmentRecord(BaseModel):
    """How a saved environment is packed, the hash of its content, its Python minor version and its files.

    `files` are relative to the artifact folder, e.g. ``environment/requirements.lock``. `platform` is the wheel
    platform tag of the machine it was saved on (``linux_x86_64``). `pins` are the ``name==version`` lines of the
    model's own closure in a conda environment, whose lock lists everything conda installed (a venv's lock is that
    closure). A field missing from a record saved by an older tempo means unknown.
    """

    kind: Literal["conda", "venv"]
    content_hash: str
    python_version: str
    platform: str | None = None
    pins: list[str] | None = None
    files: list[str]


def write_record(environment_dir: Path, record: EnvironmentRecord) -> None:
    """Write `record` as ``environment.json`` into `environment_dir`."""
    (environment_dir / RECORD_FILE).write_text(record.model_dump_json(indent=2) + "\n", encoding="utf-8")


def read_record(folder: Path) -> EnvironmentRecord:
    """Read the record of the environment saved in the artifact `folder`."""
    path = folder / ENVIRONMENT_DIR / RECORD_FILE
    try:
        return EnvironmentRecord.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        message = f"No environment is saved in {folder}: {path} is missing. Save the model with save_env=True."
        raise EnvironmentCaptureError(message) from error
    except ValidationError as error:
        message = f"The environment record {path} is not valid ({error}). Save the model again with save_env=True."
        raise EnvironmentCaptureError(message) from error
