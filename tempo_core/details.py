"""What tempo knows about a model: its name, framework, where it lives, and its signature."""

from __future__ import annotations

import os
import re

from pydantic import BaseModel, ConfigDict, field_validator

from tempo_core.frameworks import ModelFramework
from tempo_core.signature import Signature, TensorSpec

__all__ = ["ModelDetails", "NAME_RULE"]

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
NAME_RULE = "lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters"


class ModelDetails(BaseModel):
    """The description of a model that travels with its artifact and its manifests."""

    model_config = ConfigDict(frozen=True)

    name: str
    platform: ModelFramework
    signature: Signature
    uri: str | None = None
    local_folder: str | None = None
    description: str = ""

    @field_validator("name")
    @classmethod
    def _name_is_a_dns_label(cls, name: str) -> str:
        if not _NAME.match(name):
            raise ValueError(
                f"name {name!r} cannot name a server, a container or a Kubernetes resource; "
                f"use {NAME_RULE}, e.g. {_suggest(name)!r}"
            )
        return name

    @field_validator("local_folder")
    @classmethod
    def _absolute_folder(cls, folder: str | None) -> str | None:
        return os.path.abspath(os.path.expanduser(folder)) if folder else folder

    @property
    def inputs(self) -> tuple[TensorSpec, ...]:
        """The model's named inputs."""
        return self.signature.inputs

    @property
    def outputs(self) -> tuple[TensorSpec, ...]:
        """The model's named outputs."""
        return self.signature.outputs


def _suggest(name: str) -> str:
    cleaned = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:63].strip("-")
    return cleaned or "my-model"
