"""The client contract: what calls one deployed model over one transport, as `RemoteModel` uses it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from tempo_core.concurrency import run_in_pool

__all__ = ["ModelClient"]


class ModelClient(ABC):
    """Calls one deployed model: arguments bound by input name in, the value an in-process call returns out."""

    @abstractmethod
    def __call__(self, arguments: dict[str, Any], *, timeout: float | None = None) -> Any:
        """Send one call and decode its answer; `timeout` overrides the client's for this call."""

    async def acall(self, arguments: dict[str, Any], *, timeout: float | None = None) -> Any:
        """The same call, awaitable: it waits on tempo's pool of threads, never on the event loop, so calls awaited
        together are in flight together (up to the pool's 32)."""
        return await run_in_pool(self.__call__, arguments, timeout=timeout)

    @abstractmethod
    def metadata(self) -> dict[str, Any]:
        """What the server says about the model: its name, platform, inputs and outputs (the V2 metadata shape)."""

    @abstractmethod
    def close(self) -> None:
        """Close the client's connections."""
