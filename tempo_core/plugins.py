"""Finding plugins: one lazy factory for the plugin manager and a typed facade over its hooks."""

from __future__ import annotations

import functools
import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import click
import pluggy

from tempo_core import hookspecs
from tempo_core.errors import PluginError
from tempo_core.manifest import ManifestGenerator
from tempo_core.protocol import Protocol
from tempo_core.registry import Registry
from tempo_core.runtime import Runtime
from tempo_core.uploader import Uploader

__all__ = ["DEFAULT_PLUGINS", "get_plugin_manager", "get_plugins", "Plugins", "PluginInfo", "reset_plugins"]

# The core's own implementations, registered through the same hooks as everyone else's.
DEFAULT_PLUGINS = {
    "local": "tempo_core.default_plugins.local",
    "rclone": "tempo_core.default_plugins.rclone",
}
DISABLE_VARIABLE = "TEMPO_DISABLED_PLUGINS"
DEFAULT_PROTOCOL = "v2"


def _disabled() -> set[str]:
    return {name.strip() for name in os.environ.get(DISABLE_VARIABLE, "").split(",") if name.strip()}


@functools.cache
def get_plugin_manager() -> pluggy.PluginManager:
    """The plugin manager with the core's default plugins and every installed `tempo` entry point loaded."""
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    for name in _disabled():
        manager.set_blocked(name)
    for name, module in DEFAULT_PLUGINS.items():
        if not manager.is_blocked(name):
            manager.register(importlib.import_module(module), name=name)
    try:
        manager.load_setuptools_entrypoints(hookspecs.PROJECT_NAME)
    except Exception as exc:  # an installed plugin that fails to import
        raise PluginError(
            f"a tempo plugin failed to load: {exc!r}; reinstall or uninstall it, or block it with "
            f"{DISABLE_VARIABLE}=<name>."
        ) from exc
    manager.check_pending()
    return manager


@dataclass(frozen=True)
class PluginInfo:
    """An installed plugin: its name, distribution and version, and what it registers."""

    name: str
    distribution: str
    version: str
    registers: dict[str, list[str]]


class Plugins:
    """Typed access to what plugins registered; each registry is filled on first use."""

    def __init__(self, manager: pluggy.PluginManager) -> None:
        self._manager = manager
        self.protocols: Registry[type[Protocol]] = self._collect("protocol", Protocol, "tempo_register_protocols")
        self.runtimes: Registry[type[Runtime]] = self._collect("runtime", Runtime, "tempo_register_runtimes")
        self.uploaders: Registry[type[Uploader]] = self._collect("uploader", Uploader, "tempo_register_uploaders")
        self.manifest_generators: Registry[type[ManifestGenerator]] = self._collect(
            "manifest generator", ManifestGenerator, "tempo_register_manifest_generators"
        )
        self.commands: Registry[click.Command] = self._collect(
            "command", click.Command, "tempo_register_commands", instances=True
        )

    def _collect(self, kind: str, base: type, hook_name: str, *, instances: bool = False) -> Registry[Any]:
        registry: Registry[Any] = Registry(kind, base, instances=instances)
        hook = getattr(self._manager.hook, hook_name)
        for implementation in reversed(hook.get_hookimpls()):
            function: Callable[..., None] = implementation.function
            function(register=registry.register_for(implementation.plugin_name))
        return registry

    def default_protocol(self) -> Protocol:
        """A new instance of the default protocol (V2 when tempo-kfserving is installed)."""
        return self.protocols.get(DEFAULT_PROTOCOL)()

    def describe(self) -> list[PluginInfo]:
        """Every registered plugin with its distribution, version and registrations."""
        distributions = dict(self._manager.list_plugin_distinfo())
        infos = []
        for name, plugin in self._manager.list_name_plugin():
            if plugin is None:
                continue
            registers: dict[str, list[str]] = {}
            for registry in (self.protocols, self.runtimes, self.uploaders, self.manifest_generators, self.commands):
                names = [entry.name for entry in registry if entry.plugin == name]
                if names:
                    registers[registry.kind] = names
            dist = distributions.get(plugin)
            if dist is not None:
                distribution, version = dist.metadata["Name"], dist.version
            else:
                distribution, version = "tempo-core", metadata.version("tempo-core")
            infos.append(PluginInfo(name, distribution, version, registers))
        return infos


@functools.cache
def get_plugins() -> Plugins:
    """The registries of every installed plugin, built once per process."""
    return Plugins(get_plugin_manager())


def reset_plugins() -> None:
    """Forget the loaded plugins so the next lookup finds them again (for tests and long-lived tools)."""
    get_plugins.cache_clear()
    get_plugin_manager.cache_clear()
