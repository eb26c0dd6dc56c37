"""Finding plugins: tempo-core's own and every installed `tempo` entry point, in one pluggy plugin manager, and the
registries their hooks fill, each through pluggy the first time it is needed."""

from __future__ import annotations

import functools
import importlib
import os
import threading
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import click
import pluggy

from tempo_core import hookspecs
from tempo_core.errors import PluginError
from tempo_core.manifest import ManifestGenerator
from tempo_core.protocol import WireProtocol
from tempo_core.registry import Registry
from tempo_core.runtime import Runtime
from tempo_core.uploader import Uploader

__all__ = [
    "BUILTIN_PLUGINS",
    "BLOCK_VARIABLE",
    "ALLOW_VARIABLE",
    "new_plugin_manager",
    "hook_names",
    "get_plugin_manager",
    "get_plugins",
    "Plugins",
    "PluginInfo",
    "reset_plugins",
]

# tempo-core's own implementations, registered through the same hooks as everyone else's.
BUILTIN_PLUGINS = {
    "local": "tempo_core.default_plugins.local",
    "rclone": "tempo_core.default_plugins.rclone",
}
BLOCK_VARIABLE = "TEMPO_DISABLED_PLUGINS"
ALLOW_VARIABLE = "TEMPO_LOAD_PLUGINS"
DEFAULT_PROTOCOL = "v2"


@dataclass(frozen=True)
class _Kind:
    """What one hook registers: its name in messages, and the class its objects must subclass (or be instances of)."""

    kind: str
    base: type
    instances: bool = False


_KINDS = {
    "tempo_register_protocols": _Kind("protocol", WireProtocol),
    "tempo_register_runtimes": _Kind("runtime", Runtime),
    "tempo_register_uploaders": _Kind("uploader", Uploader),
    "tempo_register_manifest_generators": _Kind("manifest generator", ManifestGenerator),
    "tempo_register_commands": _Kind("command", click.Command, instances=True),
}


def _names(variable: str) -> set[str]:
    return {name.strip() for name in os.environ.get(variable, "").split(",") if name.strip()}


def new_plugin_manager() -> pluggy.PluginManager:
    """A pluggy plugin manager that knows tempo's hooks and holds no plugin yet."""
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    return manager


def hook_names(manager: pluggy.PluginManager | None = None) -> list[str]:
    """The hooks the plugin manager (by default a new one) knows from tempo's hookspecs, in declaration order."""
    relay = (manager or new_plugin_manager()).hook
    return [name for name, caller in vars(relay).items() if getattr(caller, "spec", None) is not None]


@dataclass(frozen=True)
class PluginInfo:
    """An installed plugin: its name, distribution and version, and what it registers."""

    name: str
    distribution: str
    version: str
    registers: dict[str, list[str]]


class Plugins:
    """The plugin manager and typed registries of what plugins registered, each filled on first use.

    Each registry is filled by calling its hook through pluggy once per plugin (a subset caller holding that plugin's
    implementation and every hook wrapper), so `register` is bound to the plugin it is handed to, and wrappers and
    `add_hookcall_monitoring` see every call. tempo-core's own plugins register first; another plugin can replace one
    of their registrations with `register(name, obj, override=True)`.
    """

    def __init__(self) -> None:
        self.manager = new_plugin_manager()
        self._distributions: dict[str, tuple[str, str]] = {}
        blocked = _names(BLOCK_VARIABLE)
        for name in blocked:
            self.manager.set_blocked(name)
        for name, module in BUILTIN_PLUGINS.items():
            if name not in blocked:
                self._register(importlib.import_module(module), name, ("tempo-core", metadata.version("tempo-core")))
        self._load_entry_points(blocked)
        try:
            self.manager.check_pending()
        except pluggy.PluginValidationError as exc:
            raise PluginError(
                f"plugin '{self.manager.get_name(exc.plugin)}' implements a hook tempo does not have: {exc}"
            ) from exc
        self._registries: dict[str, Registry[Any]] = {}
        self._filling = threading.RLock()

    def _load_entry_points(self, blocked: set[str]) -> None:
        allowed = _names(ALLOW_VARIABLE)
        entry_points = metadata.entry_points(group=hookspecs.PROJECT_NAME)
        unknown = allowed - {entry.name for entry in entry_points}
        if unknown:
            raise PluginError(
                f"{ALLOW_VARIABLE} names {', '.join(sorted(unknown))}, which no installed distribution provides; "
                f"installed: {', '.join(sorted(entry.name for entry in entry_points)) or 'none'}"
            )
        for entry in entry_points:
            if entry.name in blocked or (allowed and entry.name not in allowed):
                continue
            distribution = (entry.dist.metadata["Name"], entry.dist.version) if entry.dist else ("unknown", "unknown")
            if self.manager.get_plugin(entry.name) is not None:
                raise PluginError(
                    f"two installed plugins are both named '{entry.name}' (one from {distribution[0]}); uninstall one"
                )
            try:
                plugin = entry.load()
            except Exception as exc:  # a plugin that fails to import: say which, and how to go on without it
                raise PluginError(
                    f"plugin '{entry.name}' ({distribution[0]} {distribution[1]}) failed to load: {exc!r}; reinstall "
                    f"or uninstall it, or leave it out with {BLOCK_VARIABLE}={entry.name}"
                ) from exc
            self._register(plugin, entry.name, distribution)

    def _register(self, plugin: object, name: str, distribution: tuple[str, str]) -> None:
        try:
            self.manager.register(plugin, name=name)
        except pluggy.PluginValidationError as exc:
            raise PluginError(
                f"plugin '{name}' ({distribution[0]}) has a hook implementation tempo cannot call: {exc}"
            ) from exc
        self._distributions[name] = distribution

    def registry(self, hook_name: str) -> Registry[Any]:
        """What the plugins registered through the hook `hook_name`, filled through pluggy the first time (once, even
        when threads ask together)."""
        with self._filling:
            if hook_name not in self._registries:
                self._registries[hook_name] = self._fill(hook_name)
            return self._registries[hook_name]

    def _fill(self, hook_name: str) -> Registry[Any]:
        kind = _KINDS[hook_name]
        registry: Registry[Any] = Registry(
            kind.kind, kind.base, instances=kind.instances, builtin=frozenset(BUILTIN_PLUGINS)
        )
        implementations = getattr(self.manager.hook, hook_name).get_hookimpls()
        wrappers = {impl.plugin for impl in implementations if impl.hookwrapper or impl.wrapper}
        callers = [impl for impl in reversed(implementations) if impl.plugin not in wrappers]
        callers.sort(key=lambda impl: impl.plugin_name not in BUILTIN_PLUGINS)
        everyone = self.manager.get_plugins()
        for impl in callers:
            others = [plugin for plugin in everyone if plugin is not impl.plugin and plugin not in wrappers]
            call = self.manager.subset_hook_caller(hook_name, remove_plugins=others)
            call(register=registry.register_for(impl.plugin_name))
        return registry

    @property
    def protocols(self) -> Registry[type[WireProtocol]]:
        """Wire protocols by name (`v2`, `seldon`, ...)."""
        return self.registry("tempo_register_protocols")

    @property
    def runtimes(self) -> Registry[type[Runtime]]:
        """Runtimes by name (`local`, `docker`, ...)."""
        return self.registry("tempo_register_runtimes")

    @property
    def uploaders(self) -> Registry[type[Uploader]]:
        """Uploaders by URI scheme (`s3`, `gs`, `*`, ...)."""
        return self.registry("tempo_register_uploaders")

    @property
    def manifest_generators(self) -> Registry[type[ManifestGenerator]]:
        """Manifest generators by target (`seldon-deployment`, ...)."""
        return self.registry("tempo_register_manifest_generators")

    @property
    def commands(self) -> Registry[click.Command]:
        """`tempo` subcommands by name."""
        return self.registry("tempo_register_commands")

    def runtime_for(self, options: object) -> type[Runtime]:
        """The registered runtime whose options class `options` is an instance of (the most derived one)."""
        by_options = {entry.obj.options_class: entry.obj for entry in self.runtimes}
        for cls in type(options).__mro__:
            if cls in by_options:
                return by_options[cls]
        installed = ", ".join(f"{runtime.name} ({cls.__name__})" for cls, runtime in by_options.items()) or "none"
        raise PluginError(
            f"no installed runtime takes {type(options).__name__}; pass the options class of one of: {installed}"
        )

    def runtime_named(self, name: str) -> type[Runtime]:
        """The runtime registered as `name`, or whose `aliases` hold it (the command line's `--runtime seldon`)."""
        for entry in self.runtimes:
            if name in entry.obj.aliases:
                return entry.obj
        return self.runtimes.get(name)

    def default_protocol(self) -> WireProtocol:
        """A new instance of the default protocol, V2."""
        return self.protocols.get(DEFAULT_PROTOCOL)()

    def describe(self) -> list[PluginInfo]:
        """Every registered plugin with its distribution, version and registrations."""
        registries = [self.registry(hook_name) for hook_name in _KINDS]
        infos = []
        for name, plugin in self.manager.list_name_plugin():
            if plugin is None:
                continue
            registers: dict[str, list[str]] = {}
            for registry in registries:
                names = [entry.name for entry in registry if entry.plugin == name]
                if names:
                    registers[registry.kind] = names
            distribution, version = self._distributions[name]
            infos.append(PluginInfo(name, distribution, version, registers))
        return infos


@functools.cache
def get_plugins() -> Plugins:
    """The installed plugins, loaded once per process."""
    return Plugins()


def get_plugin_manager() -> pluggy.PluginManager:
    """The pluggy plugin manager holding every loaded plugin, for hook wrappers and monitoring."""
    return get_plugins().manager


def reset_plugins() -> None:
    """Forget the loaded plugins so the next lookup finds them again (for tests and long-lived tools)."""
    get_plugins.cache_clear()
