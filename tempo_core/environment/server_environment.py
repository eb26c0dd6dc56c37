"""Building an artifact's environment.tar.gz: its saved environment, installed for the cluster's server image.

The stock MLServer image unpacks the tarball, sources its ``bin/activate``, runs its ``bin/conda-unpack`` and starts
the ``mlserver`` it then finds first on PATH. A saved conda-pack tarball made for the target is used as it is;
otherwise uv installs the saved pins for the target's Python and platform into a virtualenv layout whose
``conda-unpack`` links it to the image's own interpreter.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
import zipfile
from email.parser import Parser
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name, parse_wheel_filename

from tempo_core.artifact import SERVER_TARBALL, ServerEnvironmentRecord, read_index, write_index
from tempo_core.environment.cache import build_once, cache_root, content_hash
from tempo_core.environment.rebuild import byte_compile
from tempo_core.environment.record import (
    ENVIRONMENT_DIR,
    LOCK_FILE,
    TARBALL_FILE,
    WHEELHOUSE_DIR,
    EnvironmentRecord,
    read_record,
)
from tempo_core.environment.target import ServerTarget
from tempo_core.errors import EnvironmentCaptureError
from tempo_core.files import sha256_of

__all__ = ["pack_server_environment", "SERVER_TARBALL"]

logger = logging.getLogger(__name__)

# Part of every cache key: bump it when the tree's layout or its scripts change.
_FORMAT = "2"
# Measured on MLServer 1.7.1's closure with numpy (273 MB unpacked): level 1 took 4.4 s for 88 MB, level 6 took
# 11.4 s for 77 MB; unpacking takes about 2 s either way. 13% fewer bytes are not worth 2.6 times the wait.
_COMPRESS_LEVEL = 1
_SHA256_FILE = "sha256"
_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
_PIN = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s,;)]+)")
_REASON_LINES = 6
# lib/pythonX.Y/site-packages/<package>: test folders at this depth or deeper belong to a distribution.
_PACKAGE_DEPTH = 4
_TEST_FOLDERS = frozenset({"test", "tests"})

# Sourced by bash (the image's activate-env.sh) with errexit on: nothing here may fail.
_ACTIVATE = """\
# Activates this environment, from wherever it was unpacked: source bin/activate (bash or zsh), then run
# conda-unpack once to link its python to this machine's. Written by tempo.
VIRTUAL_ENV="$(CDPATH= cd -- "$(dirname -- "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
export VIRTUAL_ENV
PATH="$VIRTUAL_ENV/bin:$PATH"
export PATH
unset PYTHONHOME
hash -r 2>/dev/null || true
"""

# POSIX sh and coreutils only: the image may lack sed (ubi-minimal).
_CONDA_UNPACK = """\
#!/bin/sh
# Relocates this environment onto this machine's CPython @VERSION@: links bin/python@VERSION@, bin/python3 and
# bin/python to the first python@VERSION@ on PATH outside this environment (to the interpreter it is based on, when
# that one is a virtualenv's) and writes pyvenv.cfg. Written by tempo; named as conda-pack names its own, which the
# stock MLServer image runs after sourcing bin/activate.
set -eu
version=@VERSION@
prefix=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd -P)
found=
set -f
saved_ifs=$IFS
IFS=:
for dir in $PATH; do
  if [ -x "$dir/python$version" ] && [ "$(CDPATH= cd -- "$dir" && pwd -P)" != "$prefix/bin" ]; then
    found=$dir/python$version
    break
  fi
done
IFS=$saved_ifs
set +f
if [ -z "$found" ]; then
  echo "conda-unpack: this environment was built for CPython $version, but this image has no python$version on" \\
    "PATH; rebuild it for the image's Python (serverPythonVersion in tempo's remote_options) and upload again" >&2
  exit 1
fi
info=$("$found" -c 'import platform, sys; print(platform.python_version(), sys._base_executable)')
base=${info#* }
for name in "python$version" python3 python; do
  ln -sf "$base" "$prefix/bin/$name"
done
printf 'home = %s\\ninclude-system-site-packages = false\\nversion = %s\\n' "$(dirname -- "$base")" "${info%% *}" \\
  > "$prefix/pyvenv.cfg"
"""

# What uv's relocatable virtualenvs start console scripts with: sh runs the python beside the script.
_RELOCATABLE_SHEBANG = b"#!/bin/sh\n'''exec' \"$(dirname -- \"$0\")/python\" \"$0\" \"$@\"\n' '''\n"


def pack_server_environment(folder: Path, target: ServerTarget) -> Path:
    """Write ``folder/environment.tar.gz`` (the environment saved in ``folder/environment/``, installed for
    `target`), list it in the folder's tempo.json and return its path.

    Built once per saved environment and target into ``$TEMPO_CACHE_DIR/server-environments/`` and hard-linked from
    there; a failed build leaves the folder unchanged.
    """
    record = read_record(folder)
    environment_dir = folder / ENVIRONMENT_DIR
    same = record.python_version == target.python_version and record.platform == target.platform
    started = time.monotonic()
    if record.kind == "conda" and same:
        source, sha256, built = environment_dir / TARBALL_FILE, None, False
    else:
        if record.kind == "conda":
            logger.info(
                "The conda environment of %s was packed for CPython %s on %s, not %s; installing its pins from the "
                "package index instead",
                folder,
                record.python_version,
                record.platform or "an unrecorded platform",
                target,
            )
        pins = _pins(environment_dir, record, folder)
        key = content_hash([_FORMAT, record.content_hash, target.python_version, target.platform, *pins])
        cached = cache_root() / "server-environments" / key
        build = _Build(folder, environment_dir, record, target, pins, same)
        built = build_once(cached, build.write)
        source, sha256 = cached / SERVER_TARBALL, (cached / _SHA256_FILE).read_text(encoding="utf-8").strip()
    tarball = _place(folder, source, sha256, record, target)
    logger.info(
        "environment.tar.gz for %s (%s): %.0f MB, %s in %.1f s",
        folder,
        target,
        tarball.stat().st_size / 1e6,
        "built" if built else "reused",
        time.monotonic() - started,
    )
    return tarball


def _pins(environment_dir: Path, record: EnvironmentRecord, folder: Path) -> list[str]:
    """The ``name==version`` lines the server environment installs: the lock of a venv, the closure of a conda one."""
    if record.kind == "venv":
        return (environment_dir / LOCK_FILE).read_text(encoding="utf-8").split()
    if record.pins is None:
        raise EnvironmentCaptureError(
            f"The conda environment saved in {folder} was saved by an older tempo that did not record which "
            "distributions the model needs, so it cannot be installed for another Python or platform. Save the "
            "model again, then upload it."
        )
    return record.pins


def _place(folder: Path, source: Path, sha256: str | None, record: EnvironmentRecord, target: ServerTarget) -> Path:
    """Hard-link `source` into the folder as environment.tar.gz and list it in tempo.json, unless it already is."""
    tarball = folder / SERVER_TARBALL
    index = read_index(folder, verify_environment=False)
    if sha256 is None:  # the saved conda-pack tarball, which the index lists
        sha256 = index.files.get(f"{ENVIRONMENT_DIR}/{TARBALL_FILE}") or sha256_of(source)
    entry = ServerEnvironmentRecord(
        python_version=target.python_version,
        platform=target.platform,
        environment_hash=record.content_hash,
        sha256=sha256,
    )
    if index.server_environment == entry and tarball.exists() and os.path.samefile(tarball, source):
        return tarball
    staged = folder / f".{SERVER_TARBALL}-{uuid.uuid4().hex[:8]}"
    try:
        try:
            os.link(source, staged)
        except OSError:  # another device, or a file system without hard links
            shutil.copy2(source, staged)
        os.replace(staged, tarball)  # before the index that lists it
        files = {**index.files, SERVER_TARBALL: sha256}
        write_index(
            folder, index.model_copy(update={"server_environment": entry, "files": dict(sorted(files.items()))})
        )
    finally:
        staged.unlink(missing_ok=True)
    return tarball


class _Build:
    """One server environment to build: the saved environment, the target, and the pins to install."""

    def __init__(
        self,
        folder: Path,
        environment_dir: Path,
        record: EnvironmentRecord,
        target: ServerTarget,
        pins: list[str],
        same: bool,
    ) -> None:
        self.folder = folder
        self.wheelhouse = environment_dir / WHEELHOUSE_DIR if record.kind == "venv" else None
        self.lock = environment_dir / LOCK_FILE
        self.target = target
        self.pins = pins
        self.offline = same and self.wheelhouse is not None

    def write(self, staging: Path) -> None:
        """Install the environment into a virtualenv tree and pack it as ``staging/environment.tar.gz``."""
        if not self.offline:
            self._check_requires_python()
        with tempfile.TemporaryDirectory(prefix="tempo-server-env-") as scratch:
            tree = Path(scratch)
            site = tree / "lib" / f"python{self.target.python_version}" / "site-packages"
            self._install(site)
            _write_scripts(tree, site, self.target.python_version)
            if self.target.python_version == _PYTHON:
                byte_compile(Path(sys.executable), site)
            with tarfile.open(staging / SERVER_TARBALL, "w:gz", compresslevel=_COMPRESS_LEVEL) as archive:
                for child in sorted(tree.iterdir()):
                    archive.add(child, arcname=child.name, filter=_served)
        (staging / _SHA256_FILE).write_text(sha256_of(staging / SERVER_TARBALL) + "\n", encoding="utf-8")

    def _install(self, site: Path) -> None:
        target = self.target
        command = [*_uv(target), "pip", "install", "--quiet", "--target", str(site)]
        # This interpreter only runs uv's resolver; the markers and wheel tags are the target's.
        command += ["--python", sys.executable, "--python-version", target.python_version]
        command += ["--python-platform", target.uv_platform, "--only-binary", ":all:"]
        # Bytecode is compiled afterwards, and only for this Python: uv would compile with this interpreter, whatever
        # the target's version, where the caller set UV_COMPILE_BYTECODE.
        env = {name: value for name, value in os.environ.items() if name != "UV_COMPILE_BYTECODE"}
        if self.offline and self.wheelhouse is not None:
            command += ["--offline", "--no-index", "--no-config", "--no-deps", "--find-links", str(self.wheelhouse)]
            command += ["-r", str(self.lock)]
        else:
            command += self._online_requirements()
            env.update(_index_from_pip_config(env))
        result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if result.returncode != 0:
            output = (result.stderr or result.stdout).strip()
            named = {canonicalize_name(name) for name, _ in _PIN.findall(output)}
            failing = [pin for pin in self.pins if canonicalize_name(pin.partition("==")[0]) in named]
            subject = _listed(failing) if failing else "its distributions"
            raise EnvironmentCaptureError(
                self._cannot_build(failing, f"{subject} cannot be installed there: {_reason(output)}")
            )

    def _online_requirements(self) -> list[str]:
        """Every pin as a requirement, but pure-Python wheels of the wheelhouse as files: those may be repacked
        editable installs whose versions the index does not have (or whose names it gives to other projects)."""
        files: dict[str, Path] = {}
        if self.wheelhouse is not None:
            command = ["--find-links", str(self.wheelhouse)]
            for wheel in sorted(self.wheelhouse.glob("*.whl")):
                name, _, _, tags = parse_wheel_filename(wheel.name)
                if all(tag.abi == "none" and tag.platform == "any" for tag in tags):
                    files[name] = wheel
        else:
            command = []
        for pin in self.pins:
            name = canonicalize_name(pin.partition("==")[0])
            command.append(str(files[name]) if name in files else pin)
        return command

    def _check_requires_python(self) -> None:
        """Refuse, naming every one, the saved wheels whose Requires-Python excludes the target's Python."""
        if self.wheelhouse is None:
            return
        by_requirement: dict[str, list[str]] = {}
        for wheel in sorted(self.wheelhouse.glob("*.whl")):
            requires = _requires_python(wheel)
            if requires is not None and not requires.contains(self.target.python_version, prereleases=True):
                name, version, _, _ = parse_wheel_filename(wheel.name)
                by_requirement.setdefault(str(requires), []).append(f"{name}=={version}")
        if by_requirement:
            failing = sorted(pin for pins in by_requirement.values() for pin in pins)
            reasons = [
                f"{_listed(pins)} {'requires' if len(pins) == 1 else 'require'} Python {requires}"
                for requires, pins in by_requirement.items()
            ]
            raise EnvironmentCaptureError(self._cannot_build(failing, "; ".join(reasons)))

    def _cannot_build(self, failing: list[str], reason: str) -> str:
        target = self.target
        # uv ignores Requires-Python upper bounds, so a "newest supporting" version may be the failing one.
        supported = [pin for pin in _supporting_versions(failing, target) if pin not in failing] if failing else []
        command = f": pip install {' '.join(repr(pin) for pin in supported)}" if supported else ""
        return (
            f"The environment saved in {self.folder} cannot be built for {target}, the Python and platform of the "
            f"cluster's server image: {reason}. Fix it in one of these ways:\n"
            f"- install versions that support CPython {target.python_version} into this environment and save the "
            f"model again{command}\n"
            "- or target the Python that the cluster's server image runs: serverPythonVersion (and serverPlatform) "
            "in remote_options\n"
            "- or build a server image from this environment, `tempo docker build-image --push REGISTRY/NAME:TAG`, "
            "and set serverImage in remote_options"
        )


def _uv(target: ServerTarget) -> list[str]:
    """The command that runs uv: the one installed with tempo, else the one on PATH."""
    try:
        from uv import find_uv_bin

        return [find_uv_bin()]
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
    if found is None:
        raise EnvironmentCaptureError(
            f"Building environment.tar.gz for {target} needs uv, which installs wheels for another Python and "
            "platform than this one, and it is not installed. Install it with: pip install uv"
        )
    return [found]


def _index_from_pip_config(env: dict[str, str]) -> dict[str, str]:
    """uv's index variables from pip's, where the user set only pip's: uv reads no pip configuration."""
    mapped = {"PIP_INDEX_URL": "UV_INDEX_URL", "PIP_EXTRA_INDEX_URL": "UV_EXTRA_INDEX_URL"}
    return {uv: env[pip] for pip, uv in mapped.items() if pip in env and uv not in env}


def _requires_python(wheel: Path) -> SpecifierSet | None:
    name, version, _, _ = parse_wheel_filename(wheel.name)
    with zipfile.ZipFile(wheel) as archive:
        metadata = next((item for item in archive.namelist() if item.endswith(".dist-info/METADATA")), None)
        if metadata is None:
            return None
        text = archive.read(metadata).decode("utf-8", errors="replace")
    value = Parser().parsestr(text, headersonly=True).get("Requires-Python")
    try:
        return SpecifierSet(value) if value else None
    except InvalidSpecifier:
        logger.debug("%s %s declares an invalid Requires-Python %r; leaving it to uv", name, version, value)
        return None


def _supporting_versions(failing: list[str], target: ServerTarget) -> list[str]:
    """The newest version of each failing distribution that has wheels for `target`, as pins; [] if unknown."""
    names = [pin.partition("==")[0] for pin in failing]
    with tempfile.TemporaryDirectory(prefix="tempo-server-env-") as scratch:
        command = [*_uv(target), "pip", "install", "--dry-run", "--no-deps", "--python", sys.executable]
        command += ["--target", scratch, "--python-version", target.python_version]
        command += ["--python-platform", target.uv_platform, "--only-binary", ":all:", *names]
        env = {**os.environ, **_index_from_pip_config(dict(os.environ))}
        result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        return []
    found = dict(_PIN.findall(result.stderr + result.stdout))
    return [f"{name}=={found[name]}" for name in names if name in found]


def _write_scripts(tree: Path, site: Path, python_version: str) -> None:
    """Give the tree its bin/: uv's console scripts made relocatable, activate, conda-unpack and a pyvenv.cfg."""
    bin_dir = tree / "bin"
    bin_dir.mkdir()
    installed = site / "bin"  # where `uv pip install --target` puts console scripts
    if installed.is_dir():
        for script in sorted(installed.iterdir()):
            data = script.read_bytes()
            first, _, rest = data.partition(b"\n")
            if first.startswith(b"#!") and b"python" in first:
                data = _RELOCATABLE_SHEBANG + rest
            (bin_dir / script.name).write_bytes(data)
            (bin_dir / script.name).chmod(0o755)
        shutil.rmtree(installed)
    (bin_dir / "activate").write_text(_ACTIVATE, encoding="utf-8")
    unpack = bin_dir / "conda-unpack"
    unpack.write_text(_CONDA_UNPACK.replace("@VERSION@", python_version), encoding="utf-8")
    unpack.chmod(0o755)
    (tree / "pyvenv.cfg").write_text(
        f"include-system-site-packages = false\nversion = {python_version}\n", encoding="utf-8"
    )


def _served(member: tarfile.TarInfo) -> tarfile.TarInfo | None:
    """The member without this machine's user and group (the image unpacks it as its own user), or None for a
    distribution's test suite, which no server imports: a fifth of the files of MLServer's closure with numpy,
    each one written at every container start (measured: 9,349 files unpacked in 8.4 s into a container's overlay
    file system, 3.0 s on a tmpfs)."""
    parts = member.name.split("/")
    if member.isdir() and len(parts) > _PACKAGE_DEPTH and parts[2] == "site-packages" and parts[-1] in _TEST_FOLDERS:
        return None
    member.uid = member.gid = 0
    member.uname = member.gname = ""
    return member


def _reason(output: str) -> str:
    """uv's explanation of a failure, on one line, without its hints and headings."""
    explanation = output.split("\nhint:", 1)[0]
    lines = [
        line.strip().removeprefix("cause: ").removeprefix("error: ")
        for line in explanation.splitlines()
        if line.strip() and not line.startswith("Using ") and "No solution found" not in line
    ]
    return " ".join(lines[-_REASON_LINES:]).rstrip(".")


def _listed(pins: list[str]) -> str:
    """``name==version`` pins as words: ``numpy 2.4.6, pandas 3.1.1 and asgiref 3.13.0``."""
    words = [pin.replace("==", " ") for pin in pins]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"
