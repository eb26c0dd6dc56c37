"""The ManifestGenerator contract: render declarative resources for a target from a saved model."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tempo_core.model import Servable
    from tempo_core.options import RuntimeOptions

__all__ = ["ManifestGenerator"]


class ManifestGenerator(ABC):
    """Renders the resources (SeldonDeployment, InferenceService, ...) a cluster runtime applies."""

    @abstractmethod
    def render(self, model: Servable, options: RuntimeOptions) -> list[dict[str, Any]]:
        """The resources for `model`, as dicts in a stable order; a pipeline's include its children's."""
