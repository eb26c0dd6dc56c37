"""The ManifestGenerator contract: render declarative resources for a target from a saved model."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from tempo_core.model import Servable
    from tempo_core.options import RuntimeOptions

__all__ = ["ManifestGenerator", "to_yaml"]


class ManifestGenerator(ABC):
    """Renders the resources (SeldonDeployment, InferenceService, ...) a cluster runtime applies."""

    @abstractmethod
    def render(self, model: Servable, options: RuntimeOptions) -> list[dict[str, Any]]:
        """The resources for `model`, as dicts in a stable order; a pipeline's include its children's."""


def to_yaml(documents: list[dict[str, Any]]) -> str:
    """Resources as multi-document YAML, keys in the order they were rendered, for `kubectl apply -f`."""
    return str(yaml.safe_dump_all(documents, sort_keys=False))
