"""The Secret Seldon Core's rclone storage initializer downloads artifacts with, rendered from an rclone config."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import Any

from tempo_core.errors import DeployError
from tempo_core.kubernetes.secrets import rclone_remotes, secret_document

__all__ = ["secret_manifest"]

_ENV_NAME = re.compile(r"^[A-Za-z0-9_]+$")


def secret_manifest(
    name: str,
    rclone_config_file: str | os.PathLike[str],
    namespace: str = "default",
    remotes: Sequence[str] | None = None,
) -> dict[str, Any]:
    """A Secret for `remote_options={"authSecretName": name}`, from the remotes of an rclone config file.

    Each option of each remote becomes the variable `RCLONE_CONFIG_<REMOTE>_<OPTION>`, which is how Seldon Core's
    rclone storage initializer (and rclone) reads a remote from its environment. It reads `modelUri` s3://bucket/path
    through the remote named `s3` and gs://... through `gs`, so name the sections of the config that way. `remotes`
    picks sections; by default all of them are included. Apply it on its own; it is never part of a model's manifest.
    """
    sections = rclone_remotes(rclone_config_file)
    chosen = list(remotes) if remotes is not None else list(sections)
    missing = [remote for remote in chosen if remote not in sections]
    if missing or not chosen:
        raise DeployError(
            f"the rclone config {rclone_config_file} has no remote(s) {', '.join(missing) or '(none chosen)'}; "
            f"it has: {', '.join(sections) or 'none'}"
        )
    data: dict[str, str] = {}
    for remote in chosen:
        if not _ENV_NAME.match(remote):
            raise DeployError(
                f"rclone remote '{remote}' cannot be named in an environment variable; rename it with letters, "
                "digits and '_' only (Seldon Core reads s3:// URIs through a remote named 's3')"
            )
        for option, value in sections[remote].items():
            data[f"RCLONE_CONFIG_{remote.upper()}_{option.upper()}"] = value
    return secret_document(name, namespace, data)
