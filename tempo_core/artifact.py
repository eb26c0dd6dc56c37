"""Saving a model into its folder (code, environment, index of hashes) and loading it back."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import pickle
import shutil
import sys
import sysconfig
import tempfile
import warnings
from pathlib import Path
from typing import Any

import cloudpickle
from pydantic import BaseModel

from tempo_core.custom import CustomModel
from tempo_core.details import ModelDetails
from tempo_core.errors import ArtifactError, ArtifactIntegrityError, UnknownPluginObjectError
from tempo_core.files import atomic_write_bytes, iter_files, replace_folder, sha256_of
from tempo_core.model import Model, Servable, as_servable
from tempo_core.pickled_modules import ModuleRecorder, distributions_of, modules_in_pickle_files
from tempo_core.pipeline import Pipeline, require_no_stubs
from tempo_core.reference import ModelReference
from tempo_core.version import __version__

__all__ = [
    "save",
    "load",
    "is_up_to_date",
    "ensure_saved",
    "artifact_digest",
    "read_index",
    "write_index",
    "ArtifactIndex",
    "ServerEnvironmentRecord",
    "INDEX_FILE",
    "CODE_FILE",
    "SERVER_TARBALL",
]

logger = logging.getLogger(__name__)

INDEX_FILE = "tempo.json"
CODE_FILE = "model.pickle"
ENVIRONMENT_DIR = "environment"
# The environment the stock MLServer image unpacks and activates before serving (its MLSERVER_ENV_TARBALL).
SERVER_TARBALL = "environment.tar.gz"
_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


class ServerEnvironmentRecord(BaseModel):
    """The `environment.tar.gz` beside a saved model: the server Python and platform it was built for, the content
    hash of the saved environment it was built from, and its sha256."""

    python_version: str
    platform: str
    environment_hash: str
    sha256: str


class ArtifactIndex(BaseModel):
    """What `tempo.json` records: the model's details, the versions that saved it, and every file's sha256."""

    tempo_version: str
    python_version: str
    details: ModelDetails
    protocol: str | None = None
    children: dict[str, ModelDetails] = {}
    environment: dict[str, Any] | None = None
    server_environment: ServerEnvironmentRecord | None = None
    files: dict[str, str]


class _ArtifactPickler(cloudpickle.Pickler):  # type: ignore[misc]
    """Pickles the model being saved by value and every other tempo model it holds as a reference."""

    def __init__(self, file: io.BytesIO, root: Servable) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._root = root
        self.modules = ModuleRecorder()

    def persistent_id(self, obj: Any) -> Any:
        self.modules.note(obj)
        if isinstance(obj, Servable) and obj.name != self._root.name and not isinstance(obj, ModelReference):
            return ("tempo-model", obj.details.model_dump_json(), obj.protocol)
        return None


class _ArtifactUnpickler(pickle.Unpickler):
    def persistent_load(self, pid: Any) -> Any:
        kind, details, protocol = pid
        if kind != "tempo-model":
            raise pickle.UnpicklingError(f"unknown reference {kind!r} in a tempo artifact")
        return ModelReference(ModelDetails.model_validate_json(details), protocol)


def _user_modules(servable: CustomModel) -> list[Any]:
    """Modules of the user's own code that should travel by value rather than by import."""
    module = sys.modules.get(getattr(servable._code, "__module__", "") or "")
    if module is None or module.__name__ == "__main__" or not getattr(module, "__file__", None):
        return []
    installed = {sysconfig.get_paths()[key] for key in ("purelib", "platlib")}
    if any(os.path.abspath(module.__file__ or "").startswith(path) for path in installed):
        return []
    return [module]


def _pickle(servable: CustomModel) -> tuple[bytes, set[str]]:
    """The pickled model and the top-level modules its pickle refers to."""
    buffer = io.BytesIO()
    by_value = _user_modules(servable)
    for module in by_value:
        cloudpickle.register_pickle_by_value(module)
    pickler = _ArtifactPickler(buffer, servable)
    try:
        pickler.dump(servable)
    except Exception as exc:
        raise ArtifactError(
            f"model '{servable.name}' cannot be saved: pickling its code failed ({exc}); keep what the "
            "model holds at definition time picklable and load heavy objects in its loader instead."
        ) from exc
    finally:
        for module in by_value:
            cloudpickle.unregister_pickle_by_value(module)
    return buffer.getvalue(), pickler.modules.modules


def _folder_of(servable: Servable) -> Path:
    """The model's local_folder; a custom model without one gets a new temporary folder, recorded on the model."""
    if servable.details.local_folder:
        return Path(servable.details.local_folder)
    if not isinstance(servable, CustomModel):
        raise ArtifactError(
            f"model '{servable.name}' has no local_folder; set local_folder=... to the folder that holds its trained "
            "model file (e.g. model.joblib)."
        )
    folder = tempfile.mkdtemp(prefix=f"tempo-{servable.name}-")
    servable.details = servable.details.model_copy(update={"local_folder": folder})
    logger.info("Model '%s' has no local_folder; saving it into %s", servable.name, folder)
    return Path(folder)


def is_up_to_date(obj: Any) -> bool:
    """Whether the model's folder holds what saving it now would write: an index, with the same details and, for
    custom code, the same pickled code (a model loaded from the folder counts as the same); children too."""
    servable = as_servable(obj)
    folder = servable.details.local_folder
    if not folder:
        return False
    try:
        saved = ArtifactIndex.model_validate_json((Path(folder) / INDEX_FILE).read_bytes())
    except (OSError, ValueError):
        return False
    if isinstance(servable, Pipeline) and not all(is_up_to_date(child) for child in servable.models):
        return False
    if not isinstance(servable, CustomModel):
        return True
    code = saved.files.get(CODE_FILE)
    if code is not None and code == servable.loaded_code_sha256:
        return True
    return saved.details == servable.details and code == hashlib.sha256(_pickle(servable)[0]).hexdigest()


def ensure_saved(obj: Any) -> None:
    """Save custom code (a pipeline with its children) unless its folder already holds it as it is now; a folder
    saved before without its environment is saved again without it."""
    servable = as_servable(obj)
    if not servable.details.platform.is_custom_code or is_up_to_date(servable):
        return
    folder = servable.details.local_folder
    try:
        previous = ArtifactIndex.model_validate_json((Path(folder or "") / INDEX_FILE).read_bytes())
    except (OSError, ValueError):
        previous = None
    save(servable, save_env=previous is None or previous.environment is not None)


def artifact_digest(folder: str | os.PathLike[str]) -> str | None:
    """A sha256 of what a saved folder's index lists (code, environment, files; not the environment.tar.gz
    built from them), or None for a folder never saved: it changes exactly when the artifact does."""
    try:
        files = ArtifactIndex.model_validate_json((Path(folder) / INDEX_FILE).read_bytes()).files
    except (OSError, ValueError):
        return None
    listed = sorted((path, digest) for path, digest in files.items() if path != SERVER_TARBALL)
    return hashlib.sha256(json.dumps(listed).encode()).hexdigest()


def _capture_environment(servable: CustomModel, folder: Path, staging: Path, modules: set[str]) -> dict[str, Any]:
    """Capture what runs the model: the closure of its requirements file if it has one, else of the
    distributions its pickled code refers to and those the pickle files in its folder name."""
    from tempo_core.environment import capture_environment

    requirements: Path | list[str] | None = next(
        (folder / name for name in ("requirements.txt", "conda.yaml") if (folder / name).exists()), None
    )
    if requirements is None:
        # The code's own modules, and what its loader will unpickle from the folder (an estimator's classes).
        requirements = distributions_of(modules | modules_in_pickle_files(folder, skip=(CODE_FILE,)))
        logger.info(
            "Model '%s' needs %s, inferred from its code; put a requirements.txt in %s to choose instead",
            servable.name,
            ", ".join(requirements) or "no distributions beyond tempo's",
            folder,
        )
    serving: tuple[str, ...] = ()
    if servable.protocol is not None:
        serving = servable.protocol.server_requirements
    else:
        from tempo_core.plugins import get_plugins

        # Without a protocol plugin installed there is no server to provision for yet.
        with contextlib.suppress(UnknownPluginObjectError):
            serving = get_plugins().default_protocol().server_requirements
    record = capture_environment(staging, requirements=requirements, include=("tempo-core", *serving))
    return record.model_dump(mode="json")


def save(obj: Any, save_env: bool = True) -> Path:
    """Save a model into its `local_folder`: its pickled code, its environment and an index of hashes.

    A pipeline's children are saved too, each into its own folder, and the pipeline keeps references
    to them rather than their code. Everything is written to a staging folder first and put in place
    by renames, so a failed save (an unpicklable object, a full disk) leaves the previous artifact
    intact. Returns the folder.
    """
    servable = as_servable(obj)
    require_no_stubs(servable, "be saved")
    if isinstance(servable, Pipeline):
        for child in servable.models:
            save(child, save_env=save_env)
    folder = _folder_of(servable)
    folder.mkdir(parents=True, exist_ok=True)
    if not servable.details.platform.is_custom_code and not any(iter_files(folder, skip=set())):
        raise ArtifactError(
            f"model '{servable.name}': local_folder {folder} holds no trained model; save the framework's "
            "model file there (e.g. model.joblib) before saving the tempo model."
        )
    staging = Path(tempfile.mkdtemp(prefix=".tempo-save-", dir=folder))
    try:
        staged, stale_tarball = _stage(servable, folder, staging, save_env)
        _commit(staging, folder, staged)
        if stale_tarball:  # after the index that no longer lists it
            (folder / SERVER_TARBALL).unlink(missing_ok=True)
    except OSError as exc:
        raise ArtifactError(
            f"model '{servable.name}' could not be saved into {folder}: {exc.strerror or exc}; the previous "
            "artifact is unchanged. Free space or fix permissions there and save again."
        ) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def _stage(servable: Servable, folder: Path, staging: Path, save_env: bool) -> tuple[list[str], bool]:
    """Write the new code, environment and index into `staging`; return what replaces what in `folder`, and
    whether the folder's environment.tar.gz is stale (built from another environment) and goes."""
    staged: list[str] = []
    unlisted = {INDEX_FILE}
    environment = None
    server_environment = None
    custom = isinstance(servable, CustomModel)
    if isinstance(servable, CustomModel):
        code, modules = _pickle(servable)
        (staging / CODE_FILE).write_bytes(code)
        staged.append(CODE_FILE)
        if save_env:
            environment = _capture_environment(servable, folder, staging, modules)
            staged.append(ENVIRONMENT_DIR)
        # upload() builds it; it stays listed only while it was built from the environment just saved.
        server_environment = _kept_server_environment(folder, environment)
        unlisted.add(SERVER_TARBALL)
    files = {
        path.relative_to(folder).as_posix(): sha256_of(path) for path in iter_files(folder, skip={*unlisted, *staged})
    }
    files.update({path.relative_to(staging).as_posix(): sha256_of(path) for path in iter_files(staging, skip=set())})
    if server_environment is not None:
        files[SERVER_TARBALL] = server_environment.sha256
    index = ArtifactIndex(
        tempo_version=__version__,
        python_version=_PYTHON,
        details=servable.details,
        protocol=servable.protocol.name if servable.protocol is not None else None,
        children={key: child.details for key, child in servable.models.items()}
        if isinstance(servable, Pipeline)
        else {},
        environment=environment,
        server_environment=server_environment,
        files=dict(sorted(files.items())),
    )
    (staging / INDEX_FILE).write_bytes(index.model_dump_json(indent=2).encode())
    stale = custom and server_environment is None and (folder / SERVER_TARBALL).exists()
    return [*staged, INDEX_FILE], stale


def _kept_server_environment(folder: Path, environment: dict[str, Any] | None) -> ServerEnvironmentRecord | None:
    """The record of the folder's environment.tar.gz when it was built from the environment just saved."""
    try:
        previous = ArtifactIndex.model_validate_json((folder / INDEX_FILE).read_bytes()).server_environment
    except (OSError, ValueError):
        return None
    if previous is None or environment is None or environment.get("content_hash") != previous.environment_hash:
        return None
    return previous if (folder / SERVER_TARBALL).is_file() else None


def _commit(staging: Path, folder: Path, staged: list[str]) -> None:
    """Put the staged entries in place by renames, the index last."""
    for name in staged:
        if (staging / name).is_dir():
            replace_folder(staging / name, folder / name)
        else:
            os.replace(staging / name, folder / name)


def read_index(folder: str | os.PathLike[str], *, verify_environment: bool = True) -> ArtifactIndex:
    """Read and check a folder's `tempo.json`; every file it lists must be present with the same sha256.

    `verify_environment=False` skips the saved environment's files and environment.tar.gz, for a server that
    already runs in that environment.
    """
    root = Path(folder)
    path = root / INDEX_FILE
    if not path.is_file():
        raise ArtifactError(f"{root} is not a saved tempo artifact: {INDEX_FILE} is missing; save the model first")
    try:
        index = ArtifactIndex.model_validate_json(path.read_bytes())
    except ValueError as exc:
        raise ArtifactIntegrityError(f"{path} is not a valid tempo index ({exc}); save the model again") from None
    for relative, expected in index.files.items():
        if not verify_environment and (relative.startswith(ENVIRONMENT_DIR + "/") or relative == SERVER_TARBALL):
            continue
        file = root / relative
        if not file.is_file():
            raise ArtifactIntegrityError(
                f"artifact {root} is incomplete: {relative} is missing; save or download it again"
            )
        if sha256_of(file) != expected:
            raise ArtifactIntegrityError(
                f"artifact {root} was changed after saving: the sha256 of {relative} does not match its index; "
                "save or download it again from a trusted source"
            )
    return index


def write_index(folder: Path, index: ArtifactIndex) -> None:
    """Replace the folder's `tempo.json` with `index` at once, so that readers see the old one or the new."""
    atomic_write_bytes(folder / INDEX_FILE, index.model_dump_json(indent=2).encode())


def load(folder: str | os.PathLike[str], *, verify_environment: bool = True) -> Servable:
    """Load a saved model from `folder`, after checking every file against the index's hashes.

    A server that already runs in the saved environment passes `verify_environment=False`: its wheels
    were checked when the environment was built, and hashing them again at every start costs seconds.

    A tempo artifact is code: load only folders that come from a trusted source.
    """
    root = Path(folder).absolute()
    index = read_index(root, verify_environment=verify_environment)
    if index.python_version != _PYTHON:
        warnings.warn(
            f"{root} was saved with Python {index.python_version} and is loaded with Python {_PYTHON}; "
            "pickled code may not load or behave the same",
            stacklevel=2,
        )
    details = index.details.model_copy(update={"local_folder": str(root)})
    if not details.platform.is_custom_code:
        model = Model(name=details.name, platform=details.platform, local_folder=details.local_folder, uri=details.uri)
        model.details = details
        if index.protocol is not None:
            from tempo_core.plugins import get_plugins

            model.protocol = get_plugins().protocols.get(index.protocol)()
        return model
    with open(root / CODE_FILE, "rb") as handle:
        servable = _ArtifactUnpickler(handle).load()
    if not isinstance(servable, CustomModel):
        raise ArtifactError(f"{root / CODE_FILE} does not hold a tempo model; save the model again")
    servable.details = details
    servable.loaded_code_sha256 = index.files.get(CODE_FILE)
    return servable
