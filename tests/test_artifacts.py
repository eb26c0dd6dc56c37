"""save and load: pickled code, a manifest of hashes, atomic writes, and pipelines holding references."""

from __future__ import annotations

import json
import pickle
import subprocess
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Tuple

import numpy as np
import pytest

from tempo_core import Model, ModelFramework, PipelineModels, load, model, pipeline, save
from tempo_core.artifact import CODE_FILE, INDEX_FILE, is_up_to_date
from tempo_core.errors import ArtifactError, ArtifactIntegrityError
from tempo_core.reference import ModelReference


def make_doubler(folder: Path, factor: int = 2):  # type: ignore[no-untyped-def]
    @model(name="doubler", local_folder=str(folder))
    def doubler(values: np.ndarray) -> np.ndarray:
        return values * doubler.context.factor

    @doubler.loadmethod
    def load_factor() -> None:
        doubler.context.factor = factor

    return doubler


def test_save_writes_the_code_and_a_manifest_of_every_files_hash(tmp_path: Path) -> None:
    (tmp_path / "doubler").mkdir()
    (tmp_path / "doubler" / "weights.bin").write_bytes(b"\x00\x01")

    folder = save(make_doubler(tmp_path / "doubler"), save_env=False)

    manifest = json.loads((folder / INDEX_FILE).read_text())
    assert manifest["details"]["name"] == "doubler"
    assert set(manifest["files"]) == {CODE_FILE, "weights.bin"}
    assert all(len(digest) == 64 for digest in manifest["files"].values())


def test_load_gives_back_a_model_that_predicts_the_same(tmp_path: Path) -> None:
    doubler = make_doubler(tmp_path / "doubler", factor=5)
    save(doubler, save_env=False)

    loaded = load(tmp_path / "doubler")

    np.testing.assert_array_equal(loaded(np.ones(3)), doubler(np.ones(3)))
    assert loaded.details.local_folder == str(tmp_path / "doubler")


def test_load_points_the_model_at_the_folder_it_was_loaded_from(tmp_path: Path) -> None:
    save(make_doubler(tmp_path / "original"), save_env=False)
    moved = tmp_path / "moved"
    (tmp_path / "original").rename(moved)

    assert load(moved).details.local_folder == str(moved)


def test_a_tampered_file_is_refused_before_anything_is_unpickled(tmp_path: Path) -> None:
    folder = save(make_doubler(tmp_path / "doubler"), save_env=False)
    (folder / CODE_FILE).write_bytes(pickle.dumps("something else"))

    with pytest.raises(ArtifactIntegrityError, match=rf"sha256 of {CODE_FILE} does not match"):
        load(folder)


def test_an_incomplete_artifact_names_the_missing_file(tmp_path: Path) -> None:
    folder = save(make_doubler(tmp_path / "doubler"), save_env=False)
    (folder / CODE_FILE).unlink()

    with pytest.raises(ArtifactIntegrityError, match=rf"incomplete: {CODE_FILE} is missing"):
        load(folder)


def test_a_folder_that_was_never_saved_says_so(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match=r"tempo.json is missing; save the model first"):
        load(tmp_path)


def test_load_warns_when_the_python_minor_version_differs(tmp_path: Path) -> None:
    folder = save(make_doubler(tmp_path / "doubler"), save_env=False)
    manifest = json.loads((folder / INDEX_FILE).read_text())
    manifest["python_version"] = "3.9"
    (folder / INDEX_FILE).write_text(json.dumps(manifest))

    with pytest.warns(UserWarning, match=r"saved with Python 3.9"):
        load(folder)


def test_a_failed_save_leaves_the_previous_artifact_intact(tmp_path: Path) -> None:
    folder = save(make_doubler(tmp_path / "doubler", factor=3), save_env=False)
    before = {path.name: path.read_bytes() for path in folder.iterdir()}

    @model(name="doubler", local_folder=str(folder))
    def unpicklable(values: np.ndarray) -> np.ndarray:
        return values * len(lock_held_by_the_model.__class__.__name__)

    import threading

    lock_held_by_the_model = threading.Lock()
    with pytest.raises(ArtifactError, match=r"model 'doubler' cannot be saved: pickling its code failed"):
        save(unpicklable, save_env=False)

    assert {path.name: path.read_bytes() for path in folder.iterdir()} == before
    np.testing.assert_array_equal(load(folder)(np.ones(1)), [3])


def test_a_pipeline_keeps_references_to_its_children_not_their_code(tmp_path: Path) -> None:
    doubler = make_doubler(tmp_path / "doubler")

    @pipeline(name="twice", local_folder=str(tmp_path / "twice"), models=PipelineModels(double=doubler))
    def twice(values: np.ndarray) -> Tuple[np.ndarray, str]:
        return twice.models.double(twice.models.double(values)), "done"

    save(twice, save_env=False)
    loaded = load(tmp_path / "twice")

    child = next(iter(loaded.models))
    assert isinstance(child, ModelReference) and child.name == "doubler"
    assert (tmp_path / "doubler" / INDEX_FILE).exists(), "saving a pipeline saves its children too"
    result, tag = loaded(np.ones(2))
    np.testing.assert_array_equal(result, [4, 4])
    assert tag == "done"


def test_a_custom_model_without_local_folder_is_saved_into_a_new_temporary_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    @model(name="nowhere")
    def nowhere(values: np.ndarray) -> np.ndarray:
        return values + 1

    folder = save(nowhere, save_env=False)

    assert folder.parent == tmp_path and folder.name.startswith("tempo-nowhere-")
    assert nowhere.details.local_folder == str(folder)
    np.testing.assert_array_equal(load(folder)(np.zeros(2)), [1, 1])
    assert save(nowhere, save_env=False) == folder, "saving again reuses the folder it was given"


def test_a_standard_model_without_local_folder_says_where_to_set_it() -> None:
    with pytest.raises(ArtifactError, match=r"model 'iris' has no local_folder; set local_folder=\.\.\. to the folder"):
        save(Model(name="iris", platform=ModelFramework.SKLearn), save_env=False)


def test_saving_twice_is_stable(tmp_path: Path) -> None:
    doubler = make_doubler(tmp_path / "doubler")
    save(doubler, save_env=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        save(doubler, save_env=False)

    assert sorted(path.name for path in (tmp_path / "doubler").iterdir()) == [CODE_FILE, INDEX_FILE]


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 1 MiB tmpfs, so writes fail with 'No space left on device' as on a full disk."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=True)


def make_weighted(folder: Path, weights: np.ndarray):  # type: ignore[no-untyped-def]
    @model(name="weighted", local_folder=str(folder))
    def weighted(values: np.ndarray) -> np.ndarray:
        return values * weights.sum()

    return weighted


def test_a_full_disk_leaves_the_previous_artifact_intact(tiny_disk: Path) -> None:
    folder = tiny_disk / "weighted"
    save(make_weighted(folder, np.ones(4)), save_env=False)
    before = {path.name: path.read_bytes() for path in folder.iterdir()}
    (tiny_disk / "ballast").write_bytes(b"\0" * (1024 * 1024 - 300 * 1024))

    with pytest.raises(
        ArtifactError, match=r"could not be saved.*No space left on device.*previous artifact is unchanged"
    ):
        save(make_weighted(folder, np.ones(80_000)), save_env=False)

    assert {path.name: path.read_bytes() for path in folder.iterdir()} == before
    np.testing.assert_array_equal(load(folder)(np.ones(1)), [4.0])


def test_a_saved_model_is_up_to_date_until_its_code_changes(tmp_path: Path) -> None:
    doubler = make_doubler(tmp_path / "doubler", factor=2)
    assert not is_up_to_date(doubler), "never saved"
    save(doubler, save_env=False)
    assert is_up_to_date(doubler)
    assert is_up_to_date(make_doubler(tmp_path / "doubler", factor=2)), "the same code defined again"

    edited = make_doubler(tmp_path / "doubler", factor=3)

    assert not is_up_to_date(edited)
    assert is_up_to_date(load(tmp_path / "doubler")), "a model loaded from the folder is what the folder holds"
