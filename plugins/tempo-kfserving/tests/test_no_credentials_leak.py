"""Credentials never end up in what tempo writes: artifacts, server logs, manifests, error messages.

The secret is put where users put theirs (the environment); everything tempo produces is then grepped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tempo_core import deploy_local, local_state, manifest, model, save
from tempo_core.errors import TempoError
from tempo_kfserving import KFServingOptions

pytestmark = pytest.mark.server

SECRET = "tempo-test-secret-7f3a9c2e"


def test_a_secret_in_the_environment_appears_nowhere_tempo_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIA" + SECRET.upper()[:12])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("RCLONE_CONFIG_S3_SECRET_ACCESS_KEY", SECRET)

    @model(name="keeper", local_folder=str(tmp_path / "keeper"), uri="s3://bucket/keeper")
    def keeper(values: np.ndarray) -> np.ndarray:
        return values

    (tmp_path / "keeper").mkdir()
    (tmp_path / "keeper" / "requirements.txt").write_text("numpy\n")
    save(keeper)
    written = [manifest(keeper, KFServingOptions(remote_options={"namespace": "prod", "serverImage": "tempo:1"}))]
    with deploy_local(keeper) as remote:
        remote.predict(np.ones(2))
        record = local_state.find_record("keeper")
        assert record is not None
        written.append(Path(record.log_path).read_text(errors="replace"))
        written.extend(path.read_text(errors="replace") for path in Path(record.workdir).rglob("*.json"))
    with pytest.raises(TempoError) as raised:
        remote.predict(np.ones(2))
    written.append(str(raised.value))
    written.extend(
        path.read_bytes().decode(errors="replace") for path in (tmp_path / "keeper").rglob("*") if path.is_file()
    )

    leaks = [text[:200] for text in written if SECRET in text or SECRET.upper()[:12] in text]
    assert leaks == []
