"""Renders a ConfigMap describing a model, standing in for a cluster's resources."""

from __future__ import annotations

from typing import Any, ClassVar

from tempo_core.manifest import ManifestGenerator
from tempo_core.model import Servable
from tempo_core.options import RuntimeOptions


class HelloOptions(RuntimeOptions):
    """Options whose manifests the hello generator renders."""

    manifest_target: ClassVar[str | None] = "hello-configmap"
    namespace: str = "default"


class HelloConfigMap(ManifestGenerator):
    """One ConfigMap per model with its name and platform."""

    def render(self, model: Servable, options: RuntimeOptions) -> list[dict[str, Any]]:
        """The ConfigMap for `model`."""
        namespace = options.namespace if isinstance(options, HelloOptions) else "default"
        return [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": model.name, "namespace": namespace},
                "data": {"platform": model.details.platform.value},
            }
        ]
