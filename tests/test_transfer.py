"""upload and download of saved models through the user's API, against a real S3 endpoint on loopback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tempo_core import PipelineModels, download, load, model, pipeline, save, upload
from tempo_core.artifact import CODE_FILE
from tempo_core.errors import ArtifactIntegrityError, UploadError
from tempo_core.transfer import uploader_for
from tempo_test_support.s3 import S3Endpoint


def make_tripler(folder: Path, uri: str):  # type: ignore[no-untyped-def]
    @model(name="tripler", local_folder=str(folder), uri=uri)
    def tripler(values: np.ndarray) -> np.ndarray:
        return values * 3

    return tripler


def test_a_saved_model_goes_to_its_uri_and_comes_back_verified(
    bucket: str, s3_endpoint: S3Endpoint, tmp_path: Path
) -> None:
    tripler = make_tripler(tmp_path / "tripler", f"s3://{bucket}/tripler")
    save(tripler, save_env=False)

    assert upload(tripler) == f"s3://{bucket}/tripler"
    fetched = download(f"s3://{bucket}/tripler", tmp_path / "fetched")

    assert sorted(s3_endpoint.keys(bucket)) == ["tripler/model.pickle", "tripler/tempo.json"]
    np.testing.assert_array_equal(load(fetched)(np.ones(2)), [3, 3])


def test_uploading_a_pipeline_uploads_its_children(bucket: str, s3_endpoint: S3Endpoint, tmp_path: Path) -> None:
    tripler = make_tripler(tmp_path / "tripler", f"s3://{bucket}/tripler")

    @pipeline(
        name="wrapper",
        local_folder=str(tmp_path / "wrapper"),
        uri=f"s3://{bucket}/wrapper",
        models=PipelineModels(tripler=tripler),
    )
    def wrapper(values: np.ndarray) -> np.ndarray:
        return wrapper.models.tripler(values)

    save(wrapper, save_env=False)
    upload(wrapper)

    assert {key.split("/")[0] for key in s3_endpoint.keys(bucket)} == {"tripler", "wrapper"}


def test_a_download_that_was_tampered_with_is_refused_naming_the_file(
    bucket: str, s3_endpoint: S3Endpoint, tmp_path: Path
) -> None:
    tripler = make_tripler(tmp_path / "tripler", f"s3://{bucket}/tripler")
    save(tripler, save_env=False)
    (tmp_path / "tripler" / CODE_FILE).write_bytes(b"not what was saved")
    uploader_for("s3://").upload(tmp_path / "tripler", f"s3://{bucket}/tripler")

    with pytest.raises(ArtifactIntegrityError, match=rf"sha256 of {CODE_FILE} does not match"):
        download(f"s3://{bucket}/tripler", tmp_path / "fetched")


def test_upload_of_an_edited_model_saves_and_uploads_the_edit(bucket: str, tmp_path: Path) -> None:
    save(make_tripler(tmp_path / "tripler", f"s3://{bucket}/tripler"), save_env=False)

    @model(name="tripler", local_folder=str(tmp_path / "tripler"), uri=f"s3://{bucket}/tripler")
    def edited(values: np.ndarray) -> np.ndarray:
        return values * 4

    upload(edited)

    np.testing.assert_array_equal(load(download(f"s3://{bucket}/tripler", tmp_path / "fetched"))(np.ones(2)), [4, 4])
    assert load(tmp_path / "tripler")(np.ones(1)).tolist() == [4.0], "the edit was saved before it was uploaded"


def test_a_model_without_a_uri_says_where_to_set_it(tmp_path: Path) -> None:
    @model(name="nowhere", local_folder=str(tmp_path / "nowhere"))
    def nowhere(values: np.ndarray) -> np.ndarray:
        return values

    save(nowhere, save_env=False)
    with pytest.raises(UploadError, match=r"model 'nowhere' has no uri; set uri="):
        upload(nowhere)


def test_bad_credentials_fail_fast_without_showing_the_secret(
    bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, closed_endpoint_url: str
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "very-secret-value-1234")
    monkeypatch.setenv("AWS_ENDPOINT_URL", closed_endpoint_url)
    tripler = make_tripler(tmp_path / "tripler", f"s3://{bucket}/tripler")
    save(tripler, save_env=False)

    with pytest.raises(UploadError) as raised:
        upload(tripler)
    assert "very-secret-value-1234" not in str(raised.value)
    assert "reach" in str(raised.value) or "connect" in str(raised.value)


def test_a_uri_without_a_scheme_says_how_to_write_one() -> None:
    with pytest.raises(UploadError, match=r"has no scheme; write it as s3://bucket/path"):
        uploader_for("bucket/path")
