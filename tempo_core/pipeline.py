"""Pipelines: custom code that orchestrates other models, called as `p.models.<name>(...)`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tempo_core.custom import CustomModel
from tempo_core.errors import ModelDefinitionError
from tempo_core.model import Servable, as_servable

__all__ = ["Pipeline", "PipelineModels"]


class PipelineModels:
    """The named children of a pipeline: `PipelineModels(sklearn=m1, xgboost=m2)`."""

    def __init__(self, **models: Any) -> None:
        children: dict[str, Servable] = {}
        for key, child in models.items():
            try:
                children[key] = as_servable(child)
            except ModelDefinitionError:
                raise ModelDefinitionError(
                    f"PipelineModels field '{key}' is a {type(child).__name__}, not a tempo model; "
                    "pass a Model(...) or an object decorated with @model or @pipeline."
                ) from None
        self.__dict__["_children"] = children

    def __getattr__(self, key: str) -> Servable:
        children: dict[str, Servable] = self.__dict__["_children"]
        try:
            return children[key]
        except KeyError:
            raise AttributeError(
                f"the pipeline has no child model '{key}'; its children are: {', '.join(children) or 'none'}"
            ) from None

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError(
            "PipelineModels is fixed when the pipeline is defined; pass every child to PipelineModels(...)"
        )

    def items(self) -> Iterator[tuple[str, Servable]]:
        """Each child with its field name, in definition order."""
        return iter(self.__dict__["_children"].items())

    def __iter__(self) -> Iterator[Servable]:
        return iter(self.__dict__["_children"].values())

    def __len__(self) -> int:
        return len(self.__dict__["_children"])

    def __getstate__(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __repr__(self) -> str:
        return "PipelineModels(" + ", ".join(f"{key}={child.name!r}" for key, child in self.items()) + ")"


class Pipeline(CustomModel):
    """A custom model that calls its child models; in-process its children run in-process too."""

    def __init__(self, *args: Any, models: PipelineModels, **kwargs: Any) -> None:
        self.models = models
        super().__init__(*args, **kwargs)
        names = [child.name for child in models]
        if self.name in names or len(set(names)) != len(names):
            raise ModelDefinitionError(
                f"pipeline '{self.name}': its children and itself must have distinct names, got "
                f"{[self.name, *names]}; rename the duplicates."
            )
