"""Each example runs as a user runs it, `python examples/<name>/run.py`, against real MLServer processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.server

EXAMPLES = Path(__file__).parents[3] / "examples"
# A cold run (environments built, numpy and sklearn imported without byte-code) takes about 20 s.
TIMEOUT_SECONDS = 240


def run_example(name: str, cwd: Path) -> dict[str, str]:
    """Run an example's run.py from `cwd` and return what it printed, by the label before each line's colon."""
    finished = subprocess.run(
        [sys.executable, str(EXAMPLES / name / "run.py")],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
    )
    assert finished.returncode == 0, f"examples/{name}/run.py failed:\n{finished.stdout}\n{finished.stderr}"
    lines = finished.stdout.splitlines()
    assert lines[-1] == "undeployed", finished.stdout
    labelled = dict(line.split(":", 1) for line in lines if line.startswith(("in-process:", "remote:")))
    return {label: text.strip() for label, text in labelled.items()}


# What each example's results must show, beyond the deployed result matching the in-process one.
EXPECTED = {
    "iris": ["'sklearn prediction'", "'xgboost prediction'"],
    "custom-model": ["array([4.6089"],
    "outlier": ["'is_outlier': [0, 1]", "'meta': {'name': 'IsolationForest'}"],
    "multi-model": ["(array([1]), 'classifier prediction')", "(array([-1]), 'outlier')"],
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_an_example_predicts_the_same_deployed_as_in_process(name: str, tmp_path: Path) -> None:
    printed = run_example(name, tmp_path)

    assert printed["remote"] == printed["in-process"]
    for fragment in EXPECTED[name]:
        assert fragment in printed["remote"]
