"""The core's local runtime passes tempo's conformance kit, serving through this plugin's V2 protocol."""

from __future__ import annotations

import subprocess
import sys

import pytest

# The kit's own asserts explain themselves only if pytest rewrites them, which needs this before the import.
pytest.register_assert_rewrite("tempo_core.testing")

from tempo_core.options import LocalOptions  # noqa: E402
from tempo_core.testing import RuntimeConformance  # noqa: E402

# In the test module rather than conftest.py: this folder's conftest is not the top-level one in every run.
pytest_plugins = ["tempo_core.testing"]
pytestmark = pytest.mark.server


class TestLocalRuntime(RuntimeConformance):
    @pytest.fixture
    def tempo_runtime_options(self) -> LocalOptions:
        return LocalOptions()


def test_importing_tempo_core_does_not_import_pytest_but_the_kit_does() -> None:
    check = (
        "import sys, tempo_core; print('pytest' in sys.modules); "
        "import tempo_core.testing; print('pytest' in sys.modules)"
    )
    printed = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True).stdout

    assert printed.split() == ["False", "True"]
