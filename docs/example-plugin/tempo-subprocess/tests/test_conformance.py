"""The subprocess runtime passes tempo's conformance kit."""

from __future__ import annotations

import pytest
from tempo_subprocess import SubprocessOptions

from tempo_core.testing import RuntimeConformance


class TestSubprocessRuntime(RuntimeConformance):
    @pytest.fixture
    def tempo_runtime_options(self) -> SubprocessOptions:
        return SubprocessOptions(startup_timeout=60)
