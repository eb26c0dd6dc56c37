"""Capturing the environment that runs a saved model, caching it by content, and rebuilding it offline."""

from __future__ import annotations

import base64
import csv
import dataclasses
import errno
import hashlib
import importlib.metadata
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import tempo_core.environment.wheelhouse
from tempo_core import model, predictmethod, save
from tempo_core.environment import (
    EnvironmentRecord,
    capture_environment,
    ensure_python,
    environment_matches_current,
)
from tempo_core.environment.capture import capture
from tempo_core.environment.installed import InstalledEnvironment
from tempo_core.environment.rebuild import build_venv
from tempo_core.environment.record import read_record
from tempo_core.errors import EnvironmentCaptureError

PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
INCLUDE = ["tempo-core"]


# --- fixtures ---------------------------------------------------------------------------------------------------


@pytest.fixture
def numpy_requirements(tmp_path: Path) -> Path:
    path = tmp_path / "requirements.txt"
    path.write_text("# what the model needs\nnumpy\n")
    return path


@pytest.fixture
def saved(tmp_path: Path, shared_cache: Path, numpy_requirements: Path) -> tuple[Path, EnvironmentRecord]:
    """A model folder whose environment was captured from this interpreter."""
    folder = tmp_path / "model"
    return folder, capture_environment(folder, requirements=numpy_requirements, include=INCLUDE)


def _record_line(name: str, data: bytes) -> list[str]:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return [name, f"sha256={digest}", str(len(data))]


def _install(site: Path, name: str, version: str, files: dict[str, str], dist_info: dict[str, str]) -> None:
    """Lay out an installed distribution the way pip does: its files, its .dist-info and a RECORD of both."""
    info = f"{canonicalize_name(name).replace('-', '_')}-{version}.dist-info"
    everything = {
        **files,
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{info}/INSTALLER": "pip\n",
        **{f"{info}/{file}": text for file, text in dist_info.items()},
    }
    rows = []
    for relative, text in everything.items():
        path = site / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        rows.append(_record_line(relative, text.encode()))
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([*rows, [f"{info}/RECORD", "", ""]])
    (site / info / "RECORD").write_text(buffer.getvalue())


def _install_editable(site: Path, name: str, package: str, project: Path) -> None:
    """An editable install as setuptools makes one: a .pth that imports a finder whose MAPPING names the code."""
    (project / package).mkdir(parents=True)
    (project / package / "__init__.py").write_text("SOURCE = 'editable'\n")
    finder = f"__editable___{package}_0_1_finder"
    mapping = {package: str(project / package)}
    _install(
        site,
        name,
        "0.1",
        {
            f"__editable__.{package}-0.1.pth": f"import {finder}; {finder}.install()\n",
            f"{finder}.py": f"MAPPING: dict[str, str] = {mapping!r}\n\n\ndef install() -> None:\n    pass\n",
        },
        {"direct_url.json": json.dumps({"dir_info": {"editable": True}, "url": project.as_uri()})},
    )


IN_TREE_BACKEND = """
import base64, hashlib, pathlib, zipfile

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    root = pathlib.Path(__file__).parent
    info = "tempo_tree-0.1.dist-info"
    files = {
        "tempo_tree/__init__.py": (root / "tempo_tree" / "__init__.py").read_bytes(),
        info + "/METADATA": b"Metadata-Version: 2.1\\nName: tempo-tree\\nVersion: 0.1\\n",
        info + "/WHEEL": b"Wheel-Version: 1.0\\nGenerator: in-tree\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
    }
    record = ""
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record += f"{name},sha256={digest},{len(data)}\\n"
    with zipfile.ZipFile(pathlib.Path(wheel_directory) / "tempo_tree-0.1-py3-none-any.whl", "w") as wheel:
        for name, data in files.items():
            wheel.writestr(name, data)
        wheel.writestr(info + "/RECORD", record + info + "/RECORD,,\\n")
    return "tempo_tree-0.1-py3-none-any.whl"
"""


def _install_editable_project(site: Path, project: Path) -> None:
    """An editable install whose .pth only names the project folder (as flit or hatchling write them)."""
    (project / "tempo_tree").mkdir(parents=True)
    (project / "tempo_tree" / "__init__.py").write_text("VERSION = 1\n")
    (project / "backend.py").write_text(IN_TREE_BACKEND)
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'
    )
    _install(
        site,
        "tempo-tree",
        "0.1",
        {"tempo_tree.pth": f"{project}\n"},
        {"direct_url.json": json.dumps({"dir_info": {"editable": True}, "url": project.as_uri()})},
    )


def _with_site(site: Path) -> InstalledEnvironment:
    """This interpreter's installation with one more site folder, as if its distributions were installed here."""
    current = InstalledEnvironment.current()
    return dataclasses.replace(current, paths=(str(site), *current.paths))


def _lock(folder: Path) -> dict[str, str]:
    lines = (folder / "environment" / "requirements.lock").read_text().split()
    return dict(line.split("==") for line in lines)


def _wheel_names(folder: Path) -> dict[str, str]:
    """Each wheel in the saved wheelhouse by its canonical distribution name, mapped to its version."""
    names = {}
    for wheel in (folder / "environment" / "wheelhouse").glob("*.whl"):
        name, version = wheel.name.split("-")[:2]
        names[canonicalize_name(name)] = version
    return names


def _closure_names(name: str) -> set[str]:
    """What pip would install for `name`, read from its installed metadata (no extras)."""
    names, todo = set(), [name]
    while todo:
        current = canonicalize_name(todo.pop())
        if current in names:
            continue
        names.add(current)
        for text in importlib.metadata.requires(current) or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return names


def _run(python: Path, code: str) -> str:
    """Run `code` with `python` from a neutral folder, so that nothing is imported from the working directory."""
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True, cwd=python.parent)
    return done.stdout.strip()


# --- capturing a venv-style environment ---------------------------------------------------------------------------


def test_capture_pins_numpy_and_tempo_core_closure_with_one_wheel_each(saved: tuple[Path, EnvironmentRecord]) -> None:
    folder, record = saved
    lock = _lock(folder)

    assert record.kind == "venv"
    assert record.python_version == PYTHON
    assert lock["numpy"] == importlib.metadata.version("numpy")
    assert _closure_names("tempo-core") | {"numpy"} == set(lock)
    assert {"pluggy", "pydantic", "pydantic-core", "cloudpickle"} <= set(lock)
    assert "pip" not in lock
    assert _wheel_names(folder) == lock
    on_disk = [path.relative_to(folder).as_posix() for path in (folder / "environment").rglob("*") if path.is_file()]
    assert record.files == sorted(on_disk)


def test_repacked_wheels_keep_installed_files_and_fresh_hashes(saved: tuple[Path, EnvironmentRecord]) -> None:
    folder, _ = saved
    (numpy_wheel,) = (folder / "environment" / "wheelhouse").glob("numpy-*.whl")
    with zipfile.ZipFile(numpy_wheel) as wheel:
        names = set(wheel.namelist())
        record_name = next(name for name in names if name.endswith(".dist-info/RECORD"))
        rows = list(csv.reader(wheel.read(record_name).decode().splitlines()))
        recorded = {row[0]: row[1] for row in rows}
        assert recorded.keys() == names
        assert "numpy/__init__.py" in names
        assert not any("__pycache__" in name or name.endswith(("/INSTALLER", "/direct_url.json")) for name in names)
        some_file = "numpy/__init__.py"
        assert _record_line(some_file, wheel.read(some_file))[1] == recorded[some_file]


@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_venv_rebuilt_offline_from_the_wheelhouse_runs_the_model_code(
    saved: tuple[Path, EnvironmentRecord], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, installer: str
) -> None:
    folder, record = saved
    if installer == "uv" and shutil.which("uv") is None:
        pytest.skip("uv is not on PATH; the pip variant covers the rebuild")
    if installer == "pip":
        without_uv = [entry for entry in os.environ["PATH"].split(os.pathsep) if not (Path(entry) / "uv").exists()]
        monkeypatch.setenv("PATH", os.pathsep.join(without_uv))
    monkeypatch.setenv("TEMPO_CACHE_DIR", str(tmp_path / "rebuild-cache"))

    python = build_venv(folder / "environment", record)

    assert python == tmp_path / "rebuild-cache" / "venvs" / record.content_hash / "bin" / "python"
    out = _run(python, "import numpy, tempo_core; print(numpy.__version__); print(tempo_core.__file__)")
    numpy_version, tempo_file = out.splitlines()
    assert numpy_version == importlib.metadata.version("numpy")
    assert tempo_file.startswith(str(python.parent.parent))  # the packed copy, not the editable source tree
    site_packages = python.parent.parent / "lib" / f"python{PYTHON}" / "site-packages"
    assert (site_packages / "numpy" / "__pycache__").is_dir()  # byte-compiled at build time
    assert build_venv(folder / "environment", record) == python  # built once


def test_second_capture_of_an_unchanged_environment_links_the_cached_files(
    saved: tuple[Path, EnvironmentRecord], tmp_path: Path, shared_cache: Path, numpy_requirements: Path
) -> None:
    first_folder, first = saved
    cached = shared_cache / "environments" / first.content_hash
    before = cached.stat()

    second = capture_environment(tmp_path / "again", requirements=numpy_requirements, include=INCLUDE)

    assert second.content_hash == first.content_hash
    assert (cached.stat().st_ino, cached.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # not rebuilt
    (wheel,) = (tmp_path / "again" / "environment" / "wheelhouse").glob("numpy-*.whl")
    (cached_wheel,) = (cached / "wheelhouse").glob("numpy-*.whl")
    (first_wheel,) = (first_folder / "environment" / "wheelhouse").glob("numpy-*.whl")
    assert wheel.stat().st_ino == cached_wheel.stat().st_ino == first_wheel.stat().st_ino
    assert wheel.stat().st_nlink >= 3
    assert [path.name for path in (shared_cache / "environments").iterdir() if path.name.startswith(".")] == []


def test_saved_environment_matches_this_interpreter_until_a_pin_changes(
    saved: tuple[Path, EnvironmentRecord], tmp_path: Path, numpy_requirements: Path
) -> None:
    folder, _ = saved
    assert environment_matches_current(folder)
    assert ensure_python(folder) == Path(sys.executable)

    lock = folder / "environment" / "requirements.lock"
    numpy_version = importlib.metadata.version("numpy")
    lock.write_text(lock.read_text().replace(f"numpy=={numpy_version}", "numpy==1.0.0"))  # in place: a hard link

    assert not environment_matches_current(folder)
    # The edit went through the hard link into the cache; the cache notices and does not hand it out again.
    capture_environment(tmp_path / "again", requirements=numpy_requirements, include=INCLUDE)
    assert _lock(tmp_path / "again")["numpy"] == numpy_version
    assert environment_matches_current(tmp_path / "again")


def test_interpreter_without_the_saved_packages_gets_a_venv_built_from_the_artifact(
    tmp_path: Path, shared_cache: Path, numpy_requirements: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "other-site"
    _install(site, "tempo-probe", "1.0", {"tempo_probe/__init__.py": "ANSWER = 42\n"}, {})
    requirements = tmp_path / "model-requirements.txt"
    requirements.write_text("numpy\ntempo-probe==1.0\n")
    folder = tmp_path / "model"
    capture(folder, _with_site(site), requirements=requirements, include=INCLUDE)
    monkeypatch.setenv("TEMPO_CACHE_DIR", str(tmp_path / "server-cache"))

    assert not environment_matches_current(folder)  # tempo-probe is not installed in this interpreter
    python = ensure_python(folder)

    assert python != Path(sys.executable)
    assert _run(python, "import numpy, tempo_probe, tempo_core; print(tempo_probe.ANSWER)") == "42"
    assert ensure_python(folder) == python


def test_editable_install_is_rebuilt_when_its_source_changes(tmp_path: Path, shared_cache: Path) -> None:
    site = tmp_path / "site"
    project = tmp_path / "project"
    _install_editable(site, "tempo-edit", "tempo_edit", project)
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("tempo-edit\n")

    first = capture(tmp_path / "one", _with_site(site), requirements=requirements, include=())
    (project / "tempo_edit" / "__init__.py").write_text("SOURCE = 'edited'\n")
    second = capture(tmp_path / "two", _with_site(site), requirements=requirements, include=())

    assert first.content_hash != second.content_hash
    (wheel,) = (tmp_path / "two" / "environment" / "wheelhouse").glob("tempo_edit-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert archive.read("tempo_edit/__init__.py") == b"SOURCE = 'edited'\n"
        assert not any(name.endswith(".pth") or "finder" in name for name in archive.namelist())


def test_editable_install_without_a_mapping_is_built_by_its_project_backend(tmp_path: Path, shared_cache: Path) -> None:
    site = tmp_path / "site"
    project = tmp_path / "project"
    _install_editable_project(site, project)
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("tempo-tree\n")
    project_files = sorted(path for path in project.rglob("*") if "__pycache__" not in path.parts)

    capture(tmp_path / "model", _with_site(site), requirements=requirements, include=())

    (wheel,) = (tmp_path / "model" / "environment" / "wheelhouse").glob("tempo_tree-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert archive.read("tempo_tree/__init__.py") == b"VERSION = 1\n"
    assert sorted(path for path in project.rglob("*") if "__pycache__" not in path.parts) == project_files


def test_requirement_that_is_not_installed_is_named_with_the_fix(tmp_path: Path, shared_cache: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("numpy\ntempo-not-installed-anywhere>=1\n")

    with pytest.raises(EnvironmentCaptureError, match=r"tempo-not-installed-anywhere>=1.*pip install"):
        capture_environment(tmp_path / "model", requirements=requirements)
    with pytest.raises(EnvironmentCaptureError, match="tempo-missing-plugin"):
        capture_environment(tmp_path / "model", include=["tempo-missing-plugin"])
    assert not (tmp_path / "model" / "environment").exists()


def test_conda_yaml_pip_list_is_read(tmp_path: Path, shared_cache: Path) -> None:
    conda_yaml = tmp_path / "conda.yaml"
    conda_yaml.write_text("name: model\ndependencies:\n  - python=3.11\n  - pip\n  - pip:\n    - numpy\n")

    capture_environment(tmp_path / "model", requirements=conda_yaml, include=INCLUDE)

    assert "numpy" in _lock(tmp_path / "model")


def test_failure_while_capturing_keeps_the_previous_environment(
    saved: tuple[Path, EnvironmentRecord], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, numpy_requirements: Path
) -> None:
    folder, _ = saved
    before = {path: path.read_bytes() for path in (folder / "environment").rglob("*") if path.is_file()}
    cold_cache = tmp_path / "cold-cache"
    monkeypatch.setenv("TEMPO_CACHE_DIR", str(cold_cache))

    def disk_full(*args: object) -> Path:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tempo_core.environment.wheelhouse, "build_wheel", disk_full)

    with pytest.raises(EnvironmentCaptureError, match="No space left on device"):
        capture_environment(folder, requirements=numpy_requirements, include=INCLUDE)

    after = {path: path.read_bytes() for path in (folder / "environment").rglob("*") if path.is_file()}
    assert after == before
    assert sorted(path.name for path in folder.iterdir()) == ["environment"]
    assert list((cold_cache / "environments").iterdir()) == []


# --- conda ------------------------------------------------------------------------------------------------------
# No conda channel can be reached, so the conda environment is laid out by hand the way conda links packages:
# files hard-linked from an extracted package in pkgs/, and a conda-meta/<name>-<version>-<build>.json record each.
# conda-pack 0.9 reads from each record name, version, files and link.source (the extracted package, whose
# info/paths.json lists what it packs; url only when that is gone), python-*.json to find site-packages, and
# conda-meta/history, by whose mtime it dates the archive members (it fails without one).


def _conda_package(prefix: Path, pkgs: Path, name: str, version: str, files: dict[str, str | Path]) -> None:
    """Link one package into the conda prefix and write its conda-meta record, as conda does."""
    build = "py311_0" if name != "python" else "h0_cpython"
    extracted = pkgs / f"{name}-{version}-{build}"
    paths = []
    for relative, content in files.items():
        source = extracted / relative
        source.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            source.symlink_to(content)
        else:
            source.write_text(content)
        target = prefix / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            target.symlink_to(content)
            paths.append({"_path": relative, "path_type": "softlink"})
        else:
            os.link(source, target)
            digest = hashlib.sha256(content.encode()).hexdigest()
            paths.append({"_path": relative, "path_type": "hardlink", "sha256": digest, "size_in_bytes": len(content)})
    (extracted / "info").mkdir(parents=True, exist_ok=True)
    (extracted / "info" / "paths.json").write_text(json.dumps({"paths": paths, "paths_version": 1}))
    (extracted / "info" / "index.json").write_text(json.dumps({"name": name, "version": version, "build": build}))
    channel = "https://conda.anaconda.org/conda-forge"
    record = {
        "name": name,
        "version": version,
        "build": build,
        "build_number": 0,
        "channel": f"{channel}/linux-64",
        "subdir": "linux-64",
        "fn": f"{name}-{version}-{build}.conda",
        "url": f"{channel}/linux-64/{name}-{version}-{build}.conda",
        "depends": [] if name == "python" else [f"python >={PYTHON},<{PYTHON}.0a0"],
        "files": list(files),
        "paths_data": {"paths": paths, "paths_version": 1},
        "extracted_package_dir": str(extracted),
        "link": {"source": str(extracted), "type": 1},
        "requested_spec": name,
    }
    (prefix / "conda-meta").mkdir(exist_ok=True)
    (prefix / "conda-meta" / f"{name}-{version}-{build}.json").write_text(json.dumps(record, indent=1))
    with (prefix / "conda-meta" / "history").open("a") as history:
        linked = f"+conda-forge/linux-64::{name}-{version}-{build}"
        history.write(f"==> 2025-01-01 00:00:00 <==\n# cmd: conda install {name}\n{linked}\n")


@pytest.fixture
def conda_prefix(tmp_path: Path) -> InstalledEnvironment:
    """A conda environment: python (this machine's interpreter, linked) and a tiny package, plus an editable
    install made with pip. A pyvenv.cfg lets the linked interpreter use the prefix as its own."""
    prefix, pkgs = tmp_path / "conda-env", tmp_path / "pkgs"
    site = f"lib/python{PYTHON}/site-packages"
    base = Path(sys.executable).resolve()
    _conda_package(prefix, pkgs, "python", "3.11.7", {"bin/python": base})
    tiny = f"{site}/tinypkg/__init__.py"
    _conda_package(prefix, pkgs, "tinypkg", "1.0", {tiny: "GREETING = 'hello from conda'\n"})
    (prefix / "pyvenv.cfg").write_text(f"home = {base.parent}\ninclude-system-site-packages = false\n")
    _install(prefix / site, "tinypkg", "1.0", {}, {"INSTALLER": "conda\n"})
    _install_editable(prefix / site, "tempo-edit", "tempo_edit", tmp_path / "edit-project")
    return InstalledEnvironment(prefix=prefix, python_version=PYTHON, paths=(str(prefix / site),))


def test_conda_environment_is_conda_packed_with_editable_code_inside(
    conda_prefix: InstalledEnvironment, tmp_path: Path, shared_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("conda_pack", reason="conda-pack packs conda environments: pip install conda-pack")
    folder = tmp_path / "model"
    site = f"lib/python{PYTHON}/site-packages"

    record = capture(folder, conda_prefix, requirements=None, include=["tinypkg"])

    assert record.kind == "conda"
    assert "environment/environment.tar.gz" in record.files
    assert _lock(folder) == {"tempo-edit": "0.1", "tinypkg": "1.0"}
    conda_lock = (folder / "environment" / "conda.lock").read_text().split()
    assert conda_lock == ["python=3.11.7=h0_cpython", "tinypkg=1.0=py311_0"]
    with tarfile.open(folder / "environment" / "environment.tar.gz") as archive:
        names = set(archive.getnames())
    assert {"bin/python", "bin/conda-unpack", "conda-meta/tinypkg-1.0-py311_0.json"} <= names
    assert f"{site}/tinypkg/__init__.py" in names
    assert f"{site}/tempo_edit/__init__.py" in names  # the editable's code, not a link back to its project
    assert not any(name.endswith(".pth") for name in names)

    monkeypatch.setenv("TEMPO_CACHE_DIR", str(tmp_path / "server-cache"))
    assert not environment_matches_current(folder)
    python = ensure_python(folder)

    assert python == tmp_path / "server-cache" / "venvs" / record.content_hash / "bin" / "python"
    out = _run(python, "import tinypkg, tempo_edit; print(tinypkg.GREETING); print(tempo_edit.__file__)")
    greeting, edit_file = out.splitlines()
    assert greeting == "hello from conda"
    assert edit_file.startswith(str(python.parent.parent))


# --- without a requirements file: what the model's code uses --------------------------------------------------------


def test_without_requirements_the_environment_holds_what_the_code_uses_and_runs_it(
    tmp_path: Path, shared_cache: Path
) -> None:
    @model(name="inferred", local_folder=str(tmp_path / "inferred"))
    def count_digits(values: np.ndarray) -> np.ndarray:
        from packaging.version import Version  # imported where it is used, not at the top of the file

        return values * len(Version("1.2.3").release)

    folder = save(count_digits)
    lock = _lock(folder)
    python = build_venv(folder / "environment", read_record(folder))
    code = f"import numpy as np; from tempo_core import load; print(load({str(folder)!r})(np.ones(2)).tolist())"

    assert {"numpy", "packaging", "tempo-core"} <= set(lock)
    assert lock["packaging"] == importlib.metadata.version("packaging")
    installed_but_unused = {"hypothesis", "pytest", "scikit-learn"}
    assert not installed_but_unused & set(lock), "distributions the code never uses stay out of the artifact"
    assert _run(python, code) == "[3.0, 3.0]"


def test_a_model_that_loads_a_pickled_estimator_from_its_folder_gets_the_estimators_distribution(
    tmp_path: Path, shared_cache: Path
) -> None:
    import joblib
    from sklearn.linear_model import LogisticRegression

    folder = tmp_path / "classifier"
    folder.mkdir()
    joblib.dump(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), folder / "model.joblib")

    @model(name="wrapped", local_folder=str(folder))
    class Wrapped:
        def __init__(self) -> None:
            self.estimator = joblib.load(folder / "model.joblib")  # nothing in the code names sklearn

        @predictmethod
        def predict(self, values: np.ndarray) -> np.ndarray:
            return self.estimator.predict(values)

    lock = _lock(save(Wrapped))

    assert {"scikit-learn", "joblib", "numpy"} <= set(lock), "unpickling the estimator on a server needs sklearn"
    assert "xgboost" not in lock


def test_installing_a_distribution_is_seen_by_the_next_look_at_the_environment(tmp_path: Path) -> None:
    site = tmp_path / "site"
    _install(site, "tempo-first", "1.0", {"tempo_first/__init__.py": ""}, {})
    environment = _with_site(site)
    before = environment.distributions()

    _install(site, "tempo-second", "2.0", {"tempo_second/__init__.py": ""}, {})
    after = environment.distributions()

    assert "tempo-first" in before and "tempo-second" not in before
    assert after["tempo-second"].version == "2.0"
    assert environment.distributions() == after
