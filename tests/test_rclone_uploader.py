"""The rclone uploader against a real S3-compatible endpoint (moto_server on loopback) and local file:// URIs."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from pydantic import SecretStr

from tempo_core.errors import UploadError
from tempo_core.plugins import get_plugins
from tempo_core.rclone import RcloneOptions, RcloneUploader

if TYPE_CHECKING:
    from tempo_test_support.s3 import S3Endpoint

# A failing copy must fail fast: rclone is told to give up on a dead endpoint within seconds.
FAST = 15.0
ENVIRONMENT = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "S3_ENDPOINT_URL",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
    "RCLONE_CONFIG",
    "GOOGLE_APPLICATION_CREDENTIALS",
)


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No credentials or rclone config from the machine running the tests."""
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


@pytest.fixture
def artifact(tmp_path: Path) -> Path:
    """A saved-model-like folder: text, binary and nested files."""
    folder = tmp_path / "artifact"
    (folder / "environment" / "lib").mkdir(parents=True)
    (folder / "manifest.json").write_text('{"name": "iris"}')
    (folder / "model.pickle").write_bytes(os.urandom(256 * 1024) + bytes(range(256)))
    (folder / "environment" / "lib" / "weights.bin").write_bytes(b"\x00\xff" * 4096)
    (folder / "environment" / "requirements.txt").write_text("scikit-learn\n")
    return folder


@pytest.fixture
def bucket(s3_endpoint: S3Endpoint, rclone_available: str) -> str:
    """A new, empty bucket on the loopback endpoint."""
    name = f"tempo-{uuid.uuid4().hex[:12]}"
    s3_endpoint.create_bucket(name)
    return name


@pytest.fixture
def aws_environment(s3_endpoint: S3Endpoint, monkeypatch: pytest.MonkeyPatch) -> S3Endpoint:
    """The endpoint's credentials exported as a user would: AWS_* environment variables."""
    for name, value in s3_endpoint.environment().items():
        monkeypatch.setenv(name, value)
    return s3_endpoint


def files_of(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` by its relative path, with its bytes."""
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in folder.rglob("*") if path.is_file()}


# ---- copies that work ---------------------------------------------------------------------------------------


@pytest.mark.s3
def test_upload_then_download_over_s3_with_environment_credentials(
    artifact: Path, bucket: str, aws_environment: S3Endpoint, tmp_path: Path
) -> None:
    uploader = RcloneUploader()
    uploader.upload(artifact, f"s3://{bucket}/models/iris")

    assert aws_environment.keys(bucket) == sorted(f"models/iris/{name}" for name in files_of(artifact))
    uploader.download(f"s3://{bucket}/models/iris", tmp_path / "downloaded")
    assert files_of(tmp_path / "downloaded") == files_of(artifact)


@pytest.mark.s3
def test_reupload_after_deleting_a_file_removes_it_at_the_destination(
    artifact: Path, bucket: str, aws_environment: S3Endpoint, tmp_path: Path
) -> None:
    uploader = RcloneUploader()
    uploader.upload(artifact, f"s3://{bucket}/iris")
    (artifact / "environment" / "lib" / "weights.bin").unlink()
    (artifact / "manifest.json").write_text('{"name": "iris", "version": 2}')

    uploader.upload(artifact, f"s3://{bucket}/iris")

    assert "iris/environment/lib/weights.bin" not in aws_environment.keys(bucket)
    uploader.download(f"s3://{bucket}/iris", tmp_path / "downloaded")
    assert files_of(tmp_path / "downloaded") == files_of(artifact)


@pytest.mark.s3
def test_explicit_options_win_over_environment_variables(
    artifact: Path,
    bucket: str,
    s3_endpoint: S3Endpoint,
    closed_endpoint_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", closed_endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFROMENVIRONMENT")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-one-to-use")
    options = RcloneOptions(
        endpoint_url=s3_endpoint.endpoint_url,
        access_key_id=SecretStr(s3_endpoint.access_key_id),
        secret_access_key=SecretStr(s3_endpoint.secret_access_key),
        region=s3_endpoint.region,
    )

    RcloneUploader(options).upload(artifact, f"s3://{bucket}/iris")

    assert len(s3_endpoint.keys(bucket, "iris/")) == len(files_of(artifact))
    assert s3_endpoint.secret_access_key not in repr(options)


@pytest.mark.s3
@pytest.mark.parametrize("via", ["option", "RCLONE_CONFIG"])
def test_remote_from_an_rclone_config_file(
    via: str, artifact: Path, bucket: str, s3_endpoint: S3Endpoint, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "rclone.conf"
    config.write_text(
        "[storage]\ntype = s3\nprovider = Other\n"
        f"endpoint = {s3_endpoint.endpoint_url}\nregion = {s3_endpoint.region}\n"
        f"access_key_id = {s3_endpoint.access_key_id}\nsecret_access_key = {s3_endpoint.secret_access_key}\n"
    )
    if via == "option":
        uploader = RcloneUploader(RcloneOptions(config_file=config))
    else:
        monkeypatch.setenv("RCLONE_CONFIG", str(config))
        uploader = RcloneUploader()

    uploader.upload(artifact, f"storage:{bucket}/iris")
    uploader.download(f"storage://{bucket}/iris", tmp_path / "downloaded")

    assert files_of(tmp_path / "downloaded") == files_of(artifact)


@pytest.mark.s3
def test_s3_uris_use_the_config_files_s3_remote_without_environment_credentials(
    artifact: Path, bucket: str, s3_endpoint: S3Endpoint, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "xdg" / "rclone" / "rclone.conf"
    config.parent.mkdir(parents=True)
    config.write_text(
        f"[s3]\ntype = s3\nprovider = Other\nendpoint = {s3_endpoint.endpoint_url}\n"
        f"access_key_id = {s3_endpoint.access_key_id}\nsecret_access_key = {s3_endpoint.secret_access_key}\n"
    )

    RcloneUploader().upload(artifact, f"s3://{bucket}/iris")

    assert len(s3_endpoint.keys(bucket, "iris/")) == len(files_of(artifact))


@pytest.mark.s3
def test_aws_ca_bundle_in_the_environment_does_not_break_s3(
    artifact: Path, bucket: str, aws_environment: S3Endpoint, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AWS_CA_BUNDLE", pytest.importorskip("certifi").where())

    RcloneUploader().upload(artifact, f"s3://{bucket}/iris")

    assert len(aws_environment.keys(bucket, "iris/")) == len(files_of(artifact))


def test_upload_and_download_file_uris(artifact: Path, tmp_path: Path, rclone_available: str) -> None:
    destination = tmp_path / "store" / "models with spaces" / "iris"
    uploader = RcloneUploader()

    uploader.upload(artifact, destination.as_uri())
    (artifact / "model.pickle").unlink()
    uploader.upload(artifact, destination.as_uri())
    uploader.download(destination.as_uri(), tmp_path / "downloaded")

    assert files_of(destination) == files_of(artifact)
    assert files_of(tmp_path / "downloaded") == files_of(artifact)


def test_downloading_again_into_the_same_folder_succeeds(
    artifact: Path,
    tmp_path: Path,
    rclone_available: str,
) -> None:
    uri = (tmp_path / "store").as_uri()
    uploader = RcloneUploader()
    uploader.upload(artifact, uri)

    uploader.download(uri, tmp_path / "downloaded")
    uploader.download(uri, tmp_path / "downloaded")

    assert files_of(tmp_path / "downloaded") == files_of(artifact)


def test_the_core_finds_the_rclone_uploader_for_s3_gs_and_file(fresh_plugins: None) -> None:
    uploaders = get_plugins().uploaders

    assert [uploaders.get(scheme) for scheme in ("s3", "gs", "file")] == [RcloneUploader] * 3
    assert {entry.plugin for entry in uploaders if entry.obj is RcloneUploader} == {"rclone"}


# ---- failures that say what is wrong ------------------------------------------------------------------------


@pytest.mark.s3
def test_missing_bucket(artifact: Path, aws_environment: S3Endpoint, rclone_available: str) -> None:
    with pytest.raises(UploadError, match="bucket of s3://no-such-bucket/iris does not exist") as error:
        RcloneUploader().upload(artifact, "s3://no-such-bucket/iris")

    assert aws_environment.secret_access_key not in str(error.value)
    assert aws_environment.access_key_id not in str(error.value)


@pytest.mark.s3
def test_download_from_a_path_with_no_files(bucket: str, aws_environment: S3Endpoint, tmp_path: Path) -> None:
    with pytest.raises(UploadError, match=f"there are no files at s3://{bucket}/nothing-here"):
        RcloneUploader().download(f"s3://{bucket}/nothing-here", tmp_path / "downloaded")
    with pytest.raises(UploadError, match="there are no files at s3://no-such-bucket/iris"):
        RcloneUploader().download("s3://no-such-bucket/iris", tmp_path / "downloaded")


@pytest.mark.s3
def test_wrong_secret_key_is_reported_without_revealing_it(
    artifact: Path,
    s3_endpoint_with_auth: S3Endpoint,
    rclone_available: str,
) -> None:
    # The endpoint enforces signatures: the right keys are accepted, the wrong secret is not.
    s3_endpoint_with_auth.create_bucket("guarded")
    wrong_secret = "wRoNg" + s3_endpoint_with_auth.secret_access_key[5:]
    options = RcloneOptions(
        endpoint_url=s3_endpoint_with_auth.endpoint_url,
        region=s3_endpoint_with_auth.region,
        access_key_id=SecretStr(s3_endpoint_with_auth.access_key_id),
        secret_access_key=SecretStr(wrong_secret),
    )

    with pytest.raises(UploadError, match="bad credentials \\(SignatureDoesNotMatch") as error:
        RcloneUploader(options).upload(artifact, "s3://guarded/iris")

    assert wrong_secret not in str(error.value)
    assert s3_endpoint_with_auth.secret_access_key not in str(error.value)
    assert s3_endpoint_with_auth.access_key_id not in str(error.value)


@pytest.mark.s3
def test_unknown_access_key_is_reported(
    artifact: Path,
    s3_endpoint_with_auth: S3Endpoint,
    rclone_available: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint_with_auth.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAUNKNOWNTOTHESERVER")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "some-secret-of-the-environment")

    with pytest.raises(UploadError, match="bad credentials \\(InvalidAccessKeyId") as error:
        RcloneUploader().upload(artifact, "s3://guarded/iris")

    assert "some-secret-of-the-environment" not in str(error.value)
    assert "AKIAUNKNOWNTOTHESERVER" not in str(error.value)


def test_unreachable_endpoint_fails_fast(
    artifact: Path,
    rclone_available: str,
    closed_endpoint_url: str,
) -> None:
    options = RcloneOptions(
        endpoint_url=closed_endpoint_url,
        access_key_id=SecretStr("AKIAEXAMPLE"),
        secret_access_key=SecretStr("s3cr3t-value"),
    )

    started = time.monotonic()
    with pytest.raises(UploadError, match=f"endpoint unreachable: cannot connect to {closed_endpoint_url}") as error:
        RcloneUploader(options).upload(artifact, "s3://bucket/iris")

    assert time.monotonic() - started < FAST
    assert "s3cr3t-value" not in str(error.value)


@pytest.mark.parametrize("how", ["empty PATH", "option"])
def test_missing_rclone_binary(how: str, artifact: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    options = RcloneOptions(secret_access_key=SecretStr("s3cr3t-value"), access_key_id=SecretStr("AKIAEXAMPLE"))
    if how == "empty PATH":
        (tmp_path / "empty").mkdir()
        monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    else:
        options = options.model_copy(update={"rclone_binary": str(tmp_path / "no-rclone-here")})

    with pytest.raises(UploadError, match="apt-get install rclone") as error:
        RcloneUploader(options).upload(artifact, "s3://bucket/iris")

    assert "https://rclone.org/install/" in str(error.value)
    assert "s3cr3t-value" not in str(error.value)


def test_unknown_remote(artifact: Path, rclone_available: str) -> None:
    with pytest.raises(UploadError, match=r"unknown rclone remote 'nowhere'.*rclone config"):
        RcloneUploader().upload(artifact, "nowhere:bucket/iris")


@pytest.mark.parametrize("uri", ["s3://bucket", "s3://bucket/", "file:///", "gs://bucket"])
def test_refuses_to_sync_over_a_whole_bucket_or_disk(uri: str, artifact: Path) -> None:
    with pytest.raises(UploadError, match="delete everything else"):
        RcloneUploader().upload(artifact, uri)


@pytest.mark.parametrize("uri", ["/abs/path", "file://relative/path", "s3:///path"])
def test_malformed_uris(uri: str, artifact: Path) -> None:
    with pytest.raises(UploadError, match="write it as"):
        RcloneUploader().upload(artifact, uri)


def test_options_need_both_keys() -> None:
    with pytest.raises(ValueError, match="access_key_id and secret_access_key together"):
        RcloneOptions(access_key_id=SecretStr("AKIAEXAMPLE"))
