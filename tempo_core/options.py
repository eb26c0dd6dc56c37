"""Runtime options: which runtime runs a model, and how."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["RuntimeOptions", "LocalOptions"]


class RuntimeOptions(BaseModel):
    """Base of every runtime's options; `runtime` names the registered runtime that takes them."""

    model_config = ConfigDict(extra="forbid")

    runtime: str


class LocalOptions(RuntimeOptions):
    """Options of the embedded local runtime: a server process on this machine's loopback."""

    runtime: str = "local"
    host: str = "127.0.0.1"
    startup_timeout: float = Field(default=60.0, gt=0, description="Seconds to wait for the server to be ready.")
    parallel_workers: int = Field(default=0, ge=0, description="MLServer inference worker processes (0 = in the server).")
