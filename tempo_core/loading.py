"""Run-once, thread-safe loading shared by every kind of model."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["LoadOnce"]

T = TypeVar("T")


class LoadOnce(Generic[T]):
    """Calls a loader the first time its result is needed, once, even when threads race for it."""

    def __init__(self, loader: Callable[[], T]) -> None:
        self._loader = loader
        self._lock = threading.Lock()
        self._loaded = False
        self._value: T | None = None

    @property
    def loaded(self) -> bool:
        """Whether the loader has run successfully."""
        return self._loaded

    def get(self) -> T:
        """Return the loader's result, running it first if it has not run yet."""
        if not self._loaded:
            with self._lock:
                if not self._loaded:
                    self._value = self._loader()
                    self._loaded = True
        return self._value  # type: ignore[return-value]

    def set(self, value: T) -> None:
        """Mark as loaded with a value obtained elsewhere."""
        with self._lock:
            self._value = value
            self._loaded = True
