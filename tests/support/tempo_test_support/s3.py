"""A real S3-compatible endpoint on loopback for tests: `moto_server` (from moto[server]) in a child process.

Load them as a plugin: `pytest_plugins = ["tempo_test_support.s3"]` in a conftest.py (or in a test module).
Importing the fixture functions by name instead works too, but makes pytest warn that it cannot rewrite this
module's asserts.
Then:

    def test_upload(s3_endpoint, rclone_available, monkeypatch):
        s3_endpoint.create_bucket("models")
        for name, value in s3_endpoint.environment().items():
            monkeypatch.setenv(name, value)
        upload(...)                                   # s3://models/...
        assert "iris/model.joblib" in s3_endpoint.keys("models")

- `s3_endpoint` (session): moto_server accepting any credentials; yields an `S3Endpoint` with `endpoint_url`,
  `access_key_id`, `secret_access_key`, `region`, `create_bucket(name)`, `keys(bucket, prefix)`, `environment()`.
- `s3_endpoint_with_auth` (session): a second moto_server that checks every request's signature against an IAM
  user it creates. moto 5 wrongly rejects correctly signed requests whose query string holds a '/' (any listing
  under a prefix, by boto3 and rclone alike), so use it only to test credentials that must be rejected.
- `closed_endpoint_url`: an http://127.0.0.1:<port> URL that nothing listens on, for unreachable-endpoint tests.
- `rclone_available`: the path of the rclone binary, or the test is skipped saying how to install it.

Both endpoints skip their tests when moto_server is not installed; each fixture stops exactly the process it
started, by its PID, at the end of the session.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

__all__ = ["S3Endpoint", "s3_endpoint", "s3_endpoint_with_auth", "closed_endpoint_url", "rclone_available"]

REGION = "us-east-1"
STARTUP_TIMEOUT = 20.0
# moto lets this many requests through unauthenticated before it checks signatures: exactly the three IAM calls
# that create the user whose keys the endpoint hands out.
IAM_SETUP_REQUESTS = 3
# Loopback requests must not go through a proxy from HTTP_PROXY.
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class S3Endpoint:
    """A running moto_server: where it listens, the credentials to use, and helpers to set up and inspect buckets."""

    endpoint_url: str
    access_key_id: str
    secret_access_key: str
    region: str
    pid: int

    def environment(self) -> dict[str, str]:
        """The AWS environment variables a user would export to reach this endpoint."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_DEFAULT_REGION": self.region,
        }

    def create_bucket(self, name: str) -> None:
        """Create a bucket (with boto3 when installed, else with a plain HTTP PUT, which moto accepts unsigned)."""
        client = self._client()
        if client is not None:
            client.create_bucket(Bucket=name)
            return
        request = urllib.request.Request(f"{self.endpoint_url}/{name}", method="PUT")
        with DIRECT.open(request, timeout=10):
            pass

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """The object keys in `bucket` under `prefix`, sorted (an unsigned ListObjectsV2, so `s3_endpoint` only)."""
        url = f"{self.endpoint_url}/{bucket}?list-type=2&prefix={urllib.parse.quote(prefix, safe='')}"
        with DIRECT.open(url, timeout=10) as response:
            root = ElementTree.fromstring(response.read())
        return sorted(element.text or "" for element in root.iter() if element.tag.endswith("}Key"))

    def _client(self) -> Any:
        try:
            import boto3
        except ImportError:
            return None
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
        )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_moto(environment: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    # Prefer the moto_server of the interpreter running the tests, so a version manager's shim is not in between.
    search_path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    binary = shutil.which("moto_server", path=search_path)
    if binary is None:
        pytest.skip("moto_server is not installed; install it with: pip install 'moto[server]'")
    port = free_port()
    endpoint_url = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [binary, "-H", "127.0.0.1", "-p", str(port)],
            env={**os.environ, **environment},
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        try:
            # moto's own API: answering it proves the server is up without spending an unauthenticated request.
            with DIRECT.open(f"{endpoint_url}/moto-api/data.json", timeout=1):
                return process, endpoint_url
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                _stop(process)
                pytest.fail(f"moto_server did not start on {endpoint_url}; its output:\n{log.read_text()}")
            time.sleep(0.05)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Endpoint]:
    """A moto_server on a free loopback port that accepts any credentials; stopped at the end of the session."""
    process, endpoint_url = _start_moto({}, tmp_path_factory.mktemp("moto") / "moto_server.log")
    try:
        yield S3Endpoint(
            endpoint_url=endpoint_url,
            access_key_id="AKIA" + secrets.token_hex(8).upper(),
            secret_access_key=secrets.token_urlsafe(30),
            region=REGION,
            pid=process.pid,
        )
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def s3_endpoint_with_auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Endpoint]:
    """A moto_server that checks signatures, with the keys of an IAM user allowed everything; needs boto3."""
    boto3 = pytest.importorskip("boto3", reason="creating the IAM user of the authenticating endpoint needs boto3")
    log = tmp_path_factory.mktemp("moto-auth") / "moto_server.log"
    process, endpoint_url = _start_moto({"INITIAL_NO_AUTH_ACTION_COUNT": str(IAM_SETUP_REQUESTS)}, log)
    try:
        iam = boto3.client(
            "iam",
            endpoint_url=endpoint_url,
            region_name=REGION,
            aws_access_key_id="setup",
            aws_secret_access_key="setup",
        )
        iam.create_user(UserName="tempo")
        key = iam.create_access_key(UserName="tempo")["AccessKey"]
        allow_all = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        iam.put_user_policy(UserName="tempo", PolicyName="everything", PolicyDocument=json.dumps(allow_all))
        yield S3Endpoint(endpoint_url, key["AccessKeyId"], key["SecretAccessKey"], REGION, process.pid)
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def rclone_available() -> str:
    """The rclone binary's path; skips the test, saying how to install rclone, when it is missing."""
    binary = shutil.which("rclone")
    if binary is None:
        pytest.skip(
            "rclone is not installed; install it with `apt-get install rclone` or see https://rclone.org/install/"
        )
    return binary


@pytest.fixture
def closed_endpoint_url() -> str:
    """An http:// URL on a loopback port that nothing listens on: connections to it are refused."""
    return f"http://127.0.0.1:{free_port()}"
