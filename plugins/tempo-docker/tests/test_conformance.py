"""The Docker runtime passes tempo's conformance kit, on a real engine."""

from __future__ import annotations

import docker
import pytest

# The kit's own asserts explain themselves only if pytest rewrites them, which needs this before the import.
pytest.register_assert_rewrite("tempo_core.testing")

from tempo_core.testing import RuntimeConformance  # noqa: E402
from tempo_docker import DockerOptions  # noqa: E402

# In the test module rather than conftest.py: this folder's conftest is not the top-level one in every run.
pytest_plugins = ["tempo_core.testing"]
pytestmark = pytest.mark.docker


class TestDockerRuntime(RuntimeConformance):
    @pytest.fixture
    def tempo_runtime_options(self, options: DockerOptions, engine: docker.DockerClient) -> DockerOptions:
        """The test namespace's options; through `engine`, each test is checked to leave no container behind."""
        return options
