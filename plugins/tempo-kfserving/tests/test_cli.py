"""The `tempo` command line, run as a user runs it, against real local MLServer processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests_support import pid_alive

pytestmark = pytest.mark.server

MODELS = """
import numpy as np
from typing import Tuple
from tempo_core import model

@model(name="cli-doubler", local_folder={folder!r})
def doubler(values: np.ndarray, label: str) -> Tuple[np.ndarray, str]:
    return values * 2, label.upper()
"""


def tempo(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tempo_core", *args], cwd=cwd, capture_output=True, text=True)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "models.py").write_text(MODELS.format(folder=str(tmp_path / "artifacts" / "doubler")))
    (tmp_path / "artifacts" / "doubler").mkdir(parents=True)
    (tmp_path / "artifacts" / "doubler" / "requirements.txt").write_text("numpy\n")
    return tmp_path


def test_save_deploy_predict_list_undeploy(project: Path) -> None:
    saved = tempo("save", "models:doubler", cwd=project)
    assert saved.returncode == 0, saved.stderr
    assert (project / "artifacts" / "doubler" / "tempo.json").exists()

    deployed = tempo("deploy", "models.py:doubler", "--json", cwd=project)
    assert deployed.returncode == 0, deployed.stderr
    endpoint = json.loads(deployed.stdout)["endpoint"]
    try:
        predicted = tempo("predict", "cli-doubler", "--data", '{"values": [1, 2], "label": "ok"}', cwd=project)
        by_code = tempo("predict", "models:doubler", "--data", '{"values": [3], "label": "hi"}', cwd=project)
        listed = json.loads(tempo("list", "--json", cwd=project).stdout)
    finally:
        undeployed = tempo("undeploy", "cli-doubler", cwd=project)

    assert json.loads(predicted.stdout) == [[2, 4], "OK"]
    assert json.loads(by_code.stdout) == [[6], "HI"]
    assert [(entry["name"], entry["endpoint"], entry["status"], entry["folder"]) for entry in listed] == [
        ("cli-doubler", endpoint, "running", str(project / "artifacts" / "doubler"))
    ]
    assert undeployed.returncode == 0
    assert json.loads(tempo("list", "--json", cwd=project).stdout) == []


def test_deploy_keeps_serving_after_the_command_and_undeploy_stops_it(project: Path) -> None:
    from tempo_core import local_state

    assert tempo("deploy", "models:doubler", cwd=project).returncode == 0
    record = local_state.find_record("cli-doubler")
    assert record is not None and pid_alive(record.pid)
    tempo("undeploy", "cli-doubler", cwd=project)
    assert not record.running()


def test_errors_name_the_problem_and_exit_codes_tell_scripts(project: Path) -> None:
    missing = tempo("predict", "no-such-model", "--data", "[1]", cwd=project)
    bad_target = tempo("deploy", "models", cwd=project)
    bad_option = tempo("list", "--runtime", "local", "--options", str(project / "models.py"), cwd=project)

    assert missing.returncode == 1
    assert "model 'no-such-model' is not deployed on the local runtime" in missing.stderr
    assert bad_target.returncode == 2
    assert "is not MODULE:OBJECT" in bad_target.stderr
    assert bad_option.returncode == 2
