"""Registries by name that refuse duplicates, remember which plugin added what, and let a plugin replace, on
purpose, what tempo-core itself registered."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from tempo_core.errors import DuplicateRegistrationError, UnknownPluginObjectError

__all__ = ["Registry", "Registration", "Register"]

T = TypeVar("T")


class Register(Protocol):
    """The callable every hook receives, bound to the plugin whose hook it is."""

    def __call__(self, name: str, obj: Any, *, override: bool = False) -> None:
        """Add `obj` under `name`; `override=True` replaces what tempo-core itself registered under that name."""


@dataclass(frozen=True)
class Registration(Generic[T]):
    """One name in a registry, what it names, the plugin that registered it, and the built-in it replaced."""

    name: str
    obj: T
    plugin: str
    replaced: str | None = None


class Registry(Generic[T]):
    """The objects of one kind (protocols, runtimes, ...) that plugins registered, by name.

    `builtin` names tempo-core's own plugins: theirs are the only registrations another plugin may override.
    """

    def __init__(self, kind: str, base: type, *, instances: bool = False, builtin: frozenset[str] = frozenset()):
        self.kind = kind
        self._base = base
        self._instances = instances
        self._builtin = builtin
        self._entries: dict[str, Registration[T]] = {}

    def register_for(self, plugin: str) -> Register:
        """The `register(name, obj)` callable handed to one plugin's hook."""

        def register(name: str, obj: Any, *, override: bool = False) -> None:
            self.add(name, obj, plugin=plugin, override=override)

        return register

    def add(self, name: str, obj: T, *, plugin: str, override: bool = False) -> None:
        """Add `obj` under `name`, refusing an object of the wrong kind and a name that is taken, unless `override`
        replaces a built-in registration."""
        fits = isinstance(obj, self._base) if self._instances else isinstance(obj, type) and issubclass(obj, self._base)
        if not fits:
            relation = "an instance" if self._instances else "a subclass"
            raise TypeError(
                f"plugin '{plugin}' registered {obj!r} as {self.kind} '{name}', but a {self.kind} must be "
                f"{relation} of {self._base.__name__}"
            )
        existing = self._entries.get(name)
        if existing is None:
            self._entries[name] = Registration(name, obj, plugin)
            return
        if override and existing.plugin in self._builtin:
            self._entries[name] = Registration(name, obj, plugin, replaced=existing.plugin)
            return
        if override:
            raise DuplicateRegistrationError(
                f"plugin '{plugin}' overrides {self.kind} '{name}', but plugin '{existing.plugin}' registered it and "
                "only tempo-core's own registrations can be overridden; uninstall one, or block it with "
                "TEMPO_DISABLED_PLUGINS=<name>."
            )
        builtin = existing.plugin in self._builtin
        hint = f"; plugin '{plugin}' can replace it with register(..., override=True)" if builtin else ""
        raise DuplicateRegistrationError(
            f"{self.kind} '{name}' is registered by both plugin '{existing.plugin}' and plugin '{plugin}'; "
            f"uninstall one, or block it with TEMPO_DISABLED_PLUGINS=<name>{hint}."
        )

    def get(self, name: str) -> T:
        """The object registered under `name`; the error lists what is installed and how to find the rest."""
        entry = self._entries.get(name)
        if entry is not None:
            return entry.obj
        installed = ", ".join(sorted(self._entries)) or "none"
        raise UnknownPluginObjectError(
            f"No installed plugin registers {self.kind} '{name}' (installed: {installed}). Install the plugin that "
            "provides it (the README's 'Install per runtime' table lists tempo's own); `tempo plugins` shows what "
            "each installed plugin registers."
        )

    def names(self) -> list[str]:
        """Registered names, in registration order."""
        return list(self._entries)

    def __iter__(self) -> Iterator[Registration[T]]:
        return iter(self._entries.values())

    def __contains__(self, name: object) -> bool:
        return name in self._entries
