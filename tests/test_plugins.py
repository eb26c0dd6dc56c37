"""Plugins: the hookspecs, discovery through real entry points, registries, and `tempo plugins`."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

import tempo_core
from tempo_core import hookimpl, hookspecs
from tempo_core.errors import DuplicateRegistrationError, PluginError, UnknownPluginObjectError
from tempo_core.local_runtime import LocalRuntime
from tempo_core.options import LocalOptions, RuntimeOptions
from tempo_core.plugins import get_plugins, hook_names
from tempo_core.rclone import RcloneUploader
from tempo_core.registry import Register, Registry
from tempo_core.runtime import Runtime
from tempo_core.uploader import Uploader

HOOKS = hook_names()
DOCS = Path(__file__).parents[1] / "docs" / "writing-a-plugin.md"


def test_the_hooks_are_the_ones_the_plugin_manager_derives_from_the_hookspecs() -> None:
    declared = [name for name, _ in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("tempo_")]

    assert sorted(HOOKS) == sorted(declared)
    assert sorted(HOOKS) == sorted(name for name in hookspecs.__all__ if name.startswith("tempo_"))


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_is_typed_and_documented(name: str) -> None:
    hook = getattr(hookspecs, name)
    signature = inspect.signature(hook)

    assert list(signature.parameters) == ["register"], name
    assert signature.parameters["register"].annotation == "Register", name
    assert signature.return_annotation == "None", name
    assert "Called" in (hook.__doc__ or ""), f"{name} must say when it is called"
    assert f"`{name}(register)`" in DOCS.read_text(), f"docs/writing-a-plugin.md does not document {name}"


def test_the_core_registers_its_own_runtime_through_the_same_hooks(fresh_plugins: None) -> None:
    plugins = get_plugins()

    assert plugins.runtimes.get("local") is LocalRuntime
    assert [entry.plugin for entry in plugins.runtimes if entry.name == "local"] == ["local"]


def test_a_missing_plugin_says_what_is_installed_and_where_to_look(
    fresh_plugins: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEMPO_DISABLED_PLUGINS", "docker")  # as if tempo-docker were not installed

    with pytest.raises(
        UnknownPluginObjectError,
        match=r"No installed plugin registers runtime 'docker' \(installed: local\)\. .*'Install per runtime'",
    ):
        get_plugins().runtime_named("docker")
    with pytest.raises(KeyError):
        get_plugins().runtimes.get("docker")


def test_a_third_party_plugin_is_found_through_its_entry_point(
    hello_plugin_installed: str, fresh_plugins: None
) -> None:
    registration = next(entry for entry in get_plugins().uploaders if entry.name == "hello")

    assert registration.plugin == "hello"
    assert issubclass(registration.obj, Uploader)


def test_a_third_party_manifest_generator_renders_through_manifest(
    hello_plugin_installed: str, fresh_plugins: None, tmp_path: Path
) -> None:
    import tempo_core
    from tempo_hello.manifest import HelloOptions

    sklearn_model = tempo_core.Model(name="iris", platform=tempo_core.ModelFramework.SKLearn)
    rendered = tempo_core.manifest(sklearn_model, HelloOptions(namespace="prod"))

    assert "hello-configmap" in get_plugins().manifest_generators
    assert yaml.safe_load(rendered) == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "iris", "namespace": "prod"},
        "data": {"platform": "sklearn"},
    }


def test_plugins_can_be_blocked_by_name(
    hello_plugin_installed: str, fresh_plugins: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEMPO_DISABLED_PLUGINS", "hello, local")

    plugins = get_plugins()

    assert "hello" not in plugins.uploaders
    assert "local" not in plugins.runtimes


def test_a_registry_refuses_a_name_twice_and_says_who_took_it() -> None:
    registry: Registry[type[Runtime]] = Registry("runtime", Runtime)
    registry.register_for("first")("local", LocalRuntime)

    with pytest.raises(
        DuplicateRegistrationError, match=r"'local' is registered by both plugin 'first' and plugin 'second'"
    ):
        registry.register_for("second")("local", LocalRuntime)


def test_a_registry_refuses_objects_of_the_wrong_kind() -> None:
    registry: Registry[type[Runtime]] = Registry("runtime", Runtime)

    with pytest.raises(TypeError, match=r"must be a subclass of Runtime"):
        registry.register_for("broken")("oops", object)


def test_tempo_plugins_lists_the_core_and_third_party_registrations(hello_plugin_installed: str) -> None:
    listing = subprocess.run(
        [sys.executable, "-m", "tempo_core", "plugins", "--json"], capture_output=True, text=True, check=True
    )
    plugins = {entry["name"]: entry for entry in json.loads(listing.stdout)}

    assert plugins["local"]["distribution"] == "tempo-core"
    assert plugins["local"]["registers"] == {"runtime": ["local"]}
    assert plugins["hello"]["distribution"] == "tempo-hello"
    assert plugins["hello"]["version"] == hello_plugin_installed
    assert plugins["hello"]["registers"] == {
        "uploader": ["hello"],
        "manifest generator": ["hello-configmap"],
        "command": ["hello"],
    }


def test_a_plugin_adds_its_own_command_to_tempo(hello_plugin_installed: str, fresh_plugins: None) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tempo_core", "hello", "plugins"], capture_output=True, text=True, check=True
    )

    assert "hello" in get_plugins().commands
    assert result.stdout.strip() == "hello, plugins"


def test_tempo_version() -> None:
    from tempo_core import __version__

    result = subprocess.run(
        [sys.executable, "-m", "tempo_core", "--version"], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == f"tempo, version {__version__}"


def _install_plugin(root: Path, name: str, source: str) -> Path:
    """Install a one-module plugin distribution `tempo-<name>` into `root`, as pip would: its module and a dist-info
    whose entry point names it under the `tempo` group."""
    module = f"tempo_{name}_plugin"
    (root / f"{module}.py").write_text(source)
    info = root / f"tempo_{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: tempo-{name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[tempo]\n{name} = {module}\n")
    return root


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_plugins: None) -> Path:
    """A folder on sys.path that plugins are installed into for one test."""
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


BROKEN = "raise RuntimeError('this plugin cannot start')\n"


def test_a_plugin_that_fails_to_import_is_named_with_its_distribution_and_the_way_around_it(site: Path) -> None:
    _install_plugin(site, "broken", BROKEN)

    with pytest.raises(
        PluginError,
        match=r"plugin 'broken' \(tempo-broken 0\.1\) failed to load: .*cannot start.*"
        r"TEMPO_DISABLED_PLUGINS=broken",
    ):
        get_plugins()


def test_the_allow_list_loads_only_the_plugins_it_names(
    site: Path, hello_plugin_installed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_plugin(site, "broken", BROKEN)
    monkeypatch.setenv("TEMPO_LOAD_PLUGINS", "hello")

    plugins = get_plugins()

    assert "hello" in plugins.uploaders, "the plugin the allow-list names is loaded"
    assert "broken" not in {name for name, _ in plugins.manager.list_name_plugin()}
    assert "local" in plugins.runtimes, "tempo-core's own plugins load unless blocked"


def test_the_allow_list_refuses_a_plugin_no_distribution_provides(
    fresh_plugins: None, hello_plugin_installed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEMPO_LOAD_PLUGINS", "hello,helo")

    with pytest.raises(PluginError, match=r"TEMPO_LOAD_PLUGINS names helo, which no installed distribution provides"):
        get_plugins()


def test_tempo_help_and_tempo_commands_work_beside_a_broken_plugin(site: Path) -> None:
    _install_plugin(site, "broken", BROKEN)
    environment = {**os.environ, "PYTHONPATH": str(site)}

    shown = subprocess.run(
        [sys.executable, "-m", "tempo_core", "--help"], capture_output=True, text=True, env=environment, check=False
    )
    listed = subprocess.run(
        [sys.executable, "-m", "tempo_core", "plugins"], capture_output=True, text=True, env=environment, check=False
    )

    assert shown.returncode == 0, shown.stderr
    assert "deploy" in shown.stdout and "undeploy" in shown.stdout
    assert "plugin 'broken'" in shown.stderr
    assert listed.returncode == 1
    assert "Error: plugin 'broken' (tempo-broken 0.1) failed to load" in listed.stderr


def test_a_hook_implementation_that_takes_no_register_is_called_through_pluggy(site: Path) -> None:
    _install_plugin(
        site,
        "quiet",
        "from tempo_core import hookimpl\n"
        "CALLS = []\n"
        "@hookimpl\n"
        "def tempo_register_runtimes():\n"
        "    CALLS.append('runtimes')\n",
    )

    runtimes = get_plugins().runtimes

    assert "local" in runtimes
    assert sys.modules["tempo_quiet_plugin"].CALLS == ["runtimes"]


class _OwnS3:
    """A plugin object, registered as a plugin author's test would, that replaces the core's `s3` uploader."""

    @hookimpl
    def tempo_register_uploaders(self, register: Register) -> None:
        from tempo_hello.uploader import HelloUploader

        register("s3", HelloUploader, override=True)


def test_a_plugin_replaces_one_built_in_registration_explicitly(
    fresh_plugins: None, hello_plugin_installed: str
) -> None:
    from tempo_hello.uploader import HelloUploader as Expected

    plugins = get_plugins()
    plugins.manager.register(_OwnS3(), name="own-s3")

    assert plugins.uploaders.get("s3") is Expected
    assert plugins.uploaders.get("gs") is RcloneUploader, "the rest of the rclone plugin stays"
    replaced = next(entry for entry in plugins.uploaders if entry.name == "s3")
    assert (replaced.plugin, replaced.replaced) == ("own-s3", "rclone")


def test_override_replaces_only_the_core_s_own_registrations() -> None:
    registry: Registry[type[Uploader]] = Registry("uploader", Uploader, builtin=frozenset({"rclone"}))
    registry.register_for("hello")("hello", RcloneUploader)

    with pytest.raises(DuplicateRegistrationError, match=r"only tempo-core's own registrations can be overridden"):
        registry.register_for("other")("hello", RcloneUploader, override=True)


def test_a_name_taken_by_the_core_says_how_to_override_it() -> None:
    registry: Registry[type[Uploader]] = Registry("uploader", Uploader, builtin=frozenset({"rclone"}))
    registry.register_for("rclone")("s3", RcloneUploader)

    with pytest.raises(DuplicateRegistrationError, match=r"can replace it with register\(\.\.\., override=True\)"):
        registry.register_for("mine")("s3", RcloneUploader)


class _Recorder:
    """A hook wrapper, as a tracing plugin would have: it sees each of tempo's hook calls."""

    def __init__(self) -> None:
        self.wrapped: list[str] = []

    @hookimpl(wrapper=True)
    def tempo_register_uploaders(self, register: Register) -> object:
        self.wrapped.append("uploaders")
        return (yield)


def test_hook_wrappers_and_call_monitoring_see_every_plugin_s_hook_call(
    fresh_plugins: None, hello_plugin_installed: str
) -> None:
    plugins = get_plugins()
    recorder = _Recorder()
    plugins.manager.register(recorder, name="recorder")
    monitored: list[tuple[str, list[str]]] = []
    undo = plugins.manager.add_hookcall_monitoring(
        lambda hook, impls, kwargs: monitored.append((hook, [impl.plugin_name for impl in impls])),
        lambda outcome, hook, impls, kwargs: None,
    )
    try:
        registered = {entry.plugin for entry in plugins.uploaders}
    finally:
        undo()

    called = {plugin for hook, impls in monitored if hook == "tempo_register_uploaders" for plugin in impls}
    assert registered == {"rclone", "hello"}
    assert registered <= called
    assert recorder.wrapped == ["uploaders", "uploaders"], "the wrapper sees each plugin's call"


def test_options_go_to_the_runtime_registered_with_their_class(fresh_plugins: None) -> None:
    class NoRuntimeOptions(RuntimeOptions):
        """Options no installed runtime takes."""

    assert get_plugins().runtime_for(LocalOptions()) is LocalRuntime
    with pytest.raises(PluginError, match=r"no installed runtime takes NoRuntimeOptions; .*local \(LocalOptions\)"):
        tempo_core.deploy(tempo_core.Model(name="iris", platform=tempo_core.ModelFramework.SKLearn), NoRuntimeOptions())
    with pytest.raises(ValidationError, match=r"runtime\n  Extra inputs are not permitted"):
        LocalOptions(runtime="docker")  # type: ignore[call-arg]
