"""Plugins: the hookspecs, discovery through real entry points, registries, and `tempo plugins`."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tempo_core import hookspecs
from tempo_core.errors import DuplicateRegistrationError, UnknownPluginObjectError
from tempo_core.local_runtime import LocalRuntime
from tempo_core.plugins import get_plugins
from tempo_core.registry import Registry
from tempo_core.runtime import Runtime
from tempo_core.uploader import Uploader

HOOKS = [name for name in hookspecs.__all__ if name.startswith("tempo_")]


def test_every_hook_is_typed_and_documented() -> None:
    for name in HOOKS:
        hook = getattr(hookspecs, name)
        signature = inspect.signature(hook)
        assert list(signature.parameters) == ["register"], name
        assert signature.parameters["register"].annotation == "Register", name
        assert signature.return_annotation == "None", name
        assert "Called" in (hook.__doc__ or ""), f"{name} must say when it is called"


def test_every_hook_has_a_test() -> None:
    sources = "".join(path.read_text() for path in Path(__file__).parent.rglob("test_*.py"))
    sources += "".join(path.read_text() for path in Path(__file__).parents[1].glob("plugins/*/tests/test_*.py"))
    for name in HOOKS:
        registry = name.removeprefix("tempo_register_")
        assert f".{registry}" in sources, f"no test looks up the {registry} that {name} registers"


def test_the_core_registers_its_own_runtime_through_the_same_hooks(fresh_plugins: None) -> None:
    plugins = get_plugins()

    assert plugins.runtimes.get("local") is LocalRuntime
    assert [entry.plugin for entry in plugins.runtimes if entry.name == "local"] == ["local"]


def test_a_missing_plugin_names_the_distribution_to_install(
    fresh_plugins: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEMPO_DISABLED_PLUGINS", "docker")  # as if tempo-docker were not installed

    with pytest.raises(
        UnknownPluginObjectError, match=r"Unknown runtime 'docker'; installed: .*pip install tempo-docker"
    ):
        get_plugins().runtimes.get("docker")
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
