"""The Secret and service account KServe downloads artifacts with, rendered from an S3 remote of an rclone config."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from tempo_core.errors import DeployError
from tempo_core.kubernetes import MANAGED_BY_LABEL, MANAGER
from tempo_core.kubernetes.secrets import rclone_remotes, secret_document

__all__ = ["storage_credentials_manifests"]


def storage_credentials_manifests(
    name: str, rclone_config_file: str | os.PathLike[str], namespace: str = "default", remote: str = "s3"
) -> list[dict[str, Any]]:
    """A Secret with an S3 remote's keys, in KServe's form, and a service account named `name` that lists it.

    Use it as `remote_options={"serviceAccountName": name}`. Apply them on their own; they are never part of a
    model's manifest.
    """
    remotes = rclone_remotes(rclone_config_file)
    options = remotes.get(remote)
    if options is None:
        raise DeployError(
            f"the rclone config {rclone_config_file} has no remote '{remote}'; it has: {', '.join(remotes) or 'none'}"
        )
    if options.get("type") != "s3" or not options.get("access_key_id") or not options.get("secret_access_key"):
        raise DeployError(
            f"rclone remote '{remote}' is not an S3 remote with access_key_id and secret_access_key; KServe's "
            "storage initializer takes S3 keys from a service account's Secret (see KServe's storage docs for others)"
        )
    annotations: dict[str, str] = {}
    endpoint = options.get("endpoint")
    if endpoint:
        parts = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
        annotations["serving.kserve.io/s3-endpoint"] = parts.netloc
        annotations["serving.kserve.io/s3-usehttps"] = "0" if parts.scheme == "http" else "1"
    if options.get("region"):
        annotations["serving.kserve.io/s3-region"] = options["region"]
    keys = {"AWS_ACCESS_KEY_ID": options["access_key_id"], "AWS_SECRET_ACCESS_KEY": options["secret_access_key"]}
    account = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": name, "namespace": namespace, "labels": {MANAGED_BY_LABEL: MANAGER}},
        "secrets": [{"name": name}],
    }
    return [secret_document(name, namespace, keys, annotations), account]
