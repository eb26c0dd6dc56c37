"""SubprocessOptions: what `deploy(model, SubprocessOptions())` passes to the subprocess runtime."""

from __future__ import annotations

from pydantic import Field

from tempo_core.options import RuntimeOptions

__all__ = ["SubprocessOptions"]


class SubprocessOptions(RuntimeOptions):
    """Options of the `subprocess` runtime, whose `options_class` they are."""

    startup_timeout: float = Field(default=60.0, gt=0, description="Seconds to wait for a server to be ready.")
