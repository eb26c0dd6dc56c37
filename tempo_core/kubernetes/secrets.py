"""Secrets with storage credentials, rendered on request from an rclone config file, never inside a model's manifest."""

from __future__ import annotations

import base64
import configparser
import os
from pathlib import Path
from typing import Any

from tempo_core.errors import DeployError
from tempo_core.kubernetes.manifests import MANAGED_BY_LABEL, MANAGER
from tempo_core.kubernetes.options import DNS_LABEL, DNS_SUBDOMAIN

__all__ = ["rclone_remotes", "secret_document"]


def rclone_remotes(rclone_config_file: str | os.PathLike[str]) -> dict[str, dict[str, str]]:
    """The remotes of an rclone config file, by name, each with its options (`type`, `access_key_id`, ...)."""
    path = Path(rclone_config_file).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DeployError(f"cannot read the rclone config {path}: {exc}") from exc
    if text.lstrip().startswith("RCLONE_ENCRYPT_"):
        raise DeployError(f"the rclone config {path} is encrypted; decrypt it (`rclone config show`) into a file first")
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as exc:
        raise DeployError(f"the rclone config {path} cannot be read: {exc}") from exc
    return {section: dict(parser.items(section)) for section in parser.sections()}


def secret_document(
    name: str, namespace: str, data: dict[str, str], annotations: dict[str, str] | None = None
) -> dict[str, Any]:
    """An Opaque Secret holding `data` (base64-encoded, as `kubectl create secret` writes it)."""
    if not DNS_SUBDOMAIN.match(name) or not DNS_LABEL.match(namespace):
        raise DeployError(
            f"secret {name!r} in namespace {namespace!r}: use lowercase letters, digits and '-' (and '.' in the name)"
        )
    metadata: dict[str, Any] = {"name": name, "namespace": namespace, "labels": {MANAGED_BY_LABEL: MANAGER}}
    if annotations:
        metadata["annotations"] = annotations
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "type": "Opaque",
        "data": {key: base64.b64encode(value.encode()).decode("ascii") for key, value in data.items()},
    }
