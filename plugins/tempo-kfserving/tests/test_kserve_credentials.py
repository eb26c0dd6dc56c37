"""The Secret and service account KServe downloads artifacts with, rendered from an rclone S3 remote on request."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tempo_core.errors import DeployError
from tempo_kfserving import storage_credentials_manifests

CAPTURE: dict[str, Any] = {"capture_output": True, "text": True}
RCLONE_CONFIG = """
[minio]
type = s3
provider = Minio
access_key_id = minioadmin
secret_access_key = minio-secret-key
endpoint = http://minio.minio-system.svc.cluster.local:9000
region = us-east-1

[gcs]
type = google cloud storage
"""


def test_an_s3_remote_becomes_a_kserve_secret_and_a_service_account_listing_it(tmp_path: Path) -> None:
    (tmp_path / "rclone.conf").write_text(RCLONE_CONFIG)

    secret, account = storage_credentials_manifests("minio-reader", tmp_path / "rclone.conf", "models", "minio")

    assert secret["metadata"]["annotations"] == {
        "serving.kserve.io/s3-endpoint": "minio.minio-system.svc.cluster.local:9000",
        "serving.kserve.io/s3-usehttps": "0",
        "serving.kserve.io/s3-region": "us-east-1",
    }
    assert {key: base64.b64decode(value).decode() for key, value in secret["data"].items()} == {
        "AWS_ACCESS_KEY_ID": "minioadmin",
        "AWS_SECRET_ACCESS_KEY": "minio-secret-key",
    }
    assert account["kind"] == "ServiceAccount" and account["secrets"] == [{"name": "minio-reader"}]
    assert account["metadata"]["namespace"] == secret["metadata"]["namespace"] == "models"


def test_a_remote_that_is_not_s3_is_refused(tmp_path: Path) -> None:
    (tmp_path / "rclone.conf").write_text(RCLONE_CONFIG)

    with pytest.raises(DeployError, match="not an S3 remote"):
        storage_credentials_manifests("reader", tmp_path / "rclone.conf", remote="gcs")
    with pytest.raises(DeployError, match="has no remote 's3'; it has: minio, gcs"):
        storage_credentials_manifests("reader", tmp_path / "rclone.conf")


def test_tempo_kserve_credentials_prints_what_kubectl_applies(tmp_path: Path) -> None:
    (tmp_path / "rclone.conf").write_text(RCLONE_CONFIG)
    command = [sys.executable, "-m", "tempo_core", "kserve", "credentials", "minio-reader"]
    config = ("--rclone-config", str(tmp_path / "rclone.conf"))

    printed = subprocess.run([*command, *config, "--namespace", "models", "--remote", "minio"], **CAPTURE)
    refused = subprocess.run([*command, *config], **CAPTURE)

    assert printed.returncode == 0, printed.stderr
    assert list(yaml.safe_load_all(printed.stdout)) == storage_credentials_manifests(
        "minio-reader", tmp_path / "rclone.conf", "models", "minio"
    )
    assert "never commit it" in printed.stderr
    assert refused.returncode == 1
    assert "has no remote 's3'; it has: minio, gcs" in refused.stderr
