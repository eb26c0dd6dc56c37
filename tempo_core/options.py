"""Runtime options: which runtime runs a model, and how."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:  # the environment package is imported only by what builds environments
    from tempo_core.environment.target import ServerTarget

__all__ = ["RuntimeOptions", "LocalOptions"]


class RuntimeOptions(BaseModel):
    """Base of every runtime's options; `runtime` names the registered runtime that takes them."""

    model_config = ConfigDict(extra="forbid")

    runtime: str
    # The manifest generator that renders this runtime's resources, for runtimes that apply manifests.
    manifest_target: ClassVar[str | None] = None

    def server_target(self) -> ServerTarget | None:
        """The target a cluster runtime builds environment tarballs for; None when the runtime needs none."""
        return None


class LocalOptions(RuntimeOptions):
    """Options of the embedded local runtime: a server process on this machine's loopback."""

    runtime: str = "local"
    host: str = "127.0.0.1"
    startup_timeout: float = Field(default=60.0, gt=0, description="Seconds to wait for the server to be ready.")
    parallel_workers: int = Field(
        default=0, ge=0, description="MLServer inference worker processes (0 = in the server)."
    )
    colocate: bool = Field(
        default=True,
        description="Serve a pipeline's children in the pipeline's own server and call them in-process; "
        "children in servers of their own are called over their local channel (a Unix socket), else REST.",
    )
    detach: bool = Field(
        default=False,
        description="Keep the server running after this interpreter exits (as `tempo deploy` does); "
        "stop it with `tempo undeploy NAME`.",
    )
