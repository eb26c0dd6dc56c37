"""Registries by name that refuse duplicates and remember which plugin added what."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from tempo_core.errors import DuplicateRegistrationError, UnknownPluginObjectError

__all__ = ["Registry", "Registration", "Register", "KNOWN_DISTRIBUTIONS"]

T = TypeVar("T")
Register = Callable[[str, Any], None]

# Where the names tempo's own plugins register come from, so a missing one names what to install.
KNOWN_DISTRIBUTIONS: dict[str, dict[str, str]] = {
    "protocol": {"v2": "tempo-kfserving", "seldon": "tempo-seldon"},
    "runtime": {"docker": "tempo-docker", "seldon-k8s": "tempo-seldon", "kserve-k8s": "tempo-kfserving"},
    "uploader": {},
    "manifest generator": {"seldon-deployment": "tempo-seldon", "kserve-inferenceservice": "tempo-kfserving"},
    "command": {"docker": "tempo-docker"},
}


@dataclass(frozen=True)
class Registration(Generic[T]):
    """One name in a registry, what it names, and the plugin that registered it."""

    name: str
    obj: T
    plugin: str


class Registry(Generic[T]):
    """The objects of one kind (protocols, runtimes, ...) that plugins registered, by name."""

    def __init__(self, kind: str, base: type, *, instances: bool = False) -> None:
        self.kind = kind
        self._base = base
        self._instances = instances
        self._entries: dict[str, Registration[T]] = {}

    def register_for(self, plugin: str) -> Register:
        """The `register(name, obj)` callable handed to one plugin's hook."""

        def register(name: str, obj: Any) -> None:
            self.add(name, obj, plugin=plugin)

        return register

    def add(self, name: str, obj: T, *, plugin: str) -> None:
        """Add `obj` under `name`, refusing a name that is taken or an object of the wrong kind."""
        fits = isinstance(obj, self._base) if self._instances else isinstance(obj, type) and issubclass(obj, self._base)
        if not fits:
            relation = "an instance" if self._instances else "a subclass"
            raise TypeError(
                f"plugin '{plugin}' registered {obj!r} as {self.kind} '{name}', but a {self.kind} must be "
                f"{relation} of {self._base.__name__}"
            )
        existing = self._entries.get(name)
        if existing is not None:
            raise DuplicateRegistrationError(
                f"{self.kind} '{name}' is registered by both plugin '{existing.plugin}' and plugin '{plugin}'; "
                "uninstall one, or block it with TEMPO_DISABLED_PLUGINS=<name>."
            )
        self._entries[name] = Registration(name, obj, plugin)

    def get(self, name: str) -> T:
        """The object registered under `name`; the error names the distribution that provides it."""
        entry = self._entries.get(name)
        if entry is not None:
            return entry.obj
        installed = ", ".join(sorted(self._entries)) or "none"
        message = f"Unknown {self.kind} '{name}'; installed: {installed}."
        distribution = KNOWN_DISTRIBUTIONS.get(self.kind, {}).get(name)
        if distribution:
            message += f" Install it with: pip install {distribution}"
        raise UnknownPluginObjectError(message)

    def names(self) -> list[str]:
        """Registered names, in registration order."""
        return list(self._entries)

    def __iter__(self) -> Iterator[Registration[T]]:
        return iter(self._entries.values())

    def __contains__(self, name: object) -> bool:
        return name in self._entries
