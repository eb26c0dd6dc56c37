"""The storage Secret for Seldon Core's rclone storage initializer, rendered from an rclone config on request."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tempo_core.errors import DeployError
from tempo_seldon import secret_manifest

CAPTURE: dict[str, Any] = {"capture_output": True, "text": True}
RCLONE_CONFIG = """
[s3]
type = s3
provider = Minio
env_auth = false
access_key_id = minioadmin
secret_access_key = minio-secret-key
endpoint = http://minio.minio-system.svc.cluster.local:9000

[gs]
type = google cloud storage
anonymous = true
"""


@pytest.fixture
def rclone_config(tmp_path: Path) -> Path:
    path = tmp_path / "rclone.conf"
    path.write_text(RCLONE_CONFIG)
    return path


def test_each_remote_option_becomes_an_rclone_config_variable(rclone_config: Path) -> None:
    secret = secret_manifest("minio-secret", rclone_config, namespace="production", remotes=["s3"])
    data = {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}

    assert secret["kind"] == "Secret" and secret["type"] == "Opaque"
    assert secret["metadata"]["name"] == "minio-secret" and secret["metadata"]["namespace"] == "production"
    assert data == {
        "RCLONE_CONFIG_S3_TYPE": "s3",
        "RCLONE_CONFIG_S3_PROVIDER": "Minio",
        "RCLONE_CONFIG_S3_ENV_AUTH": "false",
        "RCLONE_CONFIG_S3_ACCESS_KEY_ID": "minioadmin",
        "RCLONE_CONFIG_S3_SECRET_ACCESS_KEY": "minio-secret-key",
        "RCLONE_CONFIG_S3_ENDPOINT": "http://minio.minio-system.svc.cluster.local:9000",
    }
    assert "minio-secret-key" not in yaml.safe_dump(secret), "values are base64-encoded, as kubectl writes them"


def test_all_remotes_by_default_and_unknown_ones_named(rclone_config: Path) -> None:
    secret = secret_manifest("storage", rclone_config)

    assert "RCLONE_CONFIG_GS_ANONYMOUS" in secret["data"] and "RCLONE_CONFIG_S3_TYPE" in secret["data"]
    with pytest.raises(DeployError, match=r"has no remote.*azure.*it has: s3, gs"):
        secret_manifest("storage", rclone_config, remotes=["azure"])


def test_a_remote_name_that_cannot_be_an_environment_variable_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "rclone.conf"
    config.write_text("[my-minio]\ntype = s3\n")

    with pytest.raises(DeployError, match="'my-minio' cannot be named in an environment variable"):
        secret_manifest("storage", config)
    with pytest.raises(DeployError, match="cannot read the rclone config"):
        secret_manifest("storage", tmp_path / "missing.conf")


def test_tempo_seldon_secret_prints_what_kubectl_applies(rclone_config: Path) -> None:
    command = [sys.executable, "-m", "tempo_core", "seldon", "secret", "minio-secret", "--rclone-config"]

    printed = subprocess.run([*command, str(rclone_config), "--namespace", "production", "--remote", "s3"], **CAPTURE)
    missing = subprocess.run([*command, str(rclone_config.parent / "absent.conf")], **CAPTURE)

    assert printed.returncode == 0, printed.stderr
    assert yaml.safe_load(printed.stdout) == secret_manifest("minio-secret", rclone_config, "production", ["s3"])
    assert "never commit it" in printed.stderr
    assert missing.returncode == 1
    assert "cannot read the rclone config" in missing.stderr
