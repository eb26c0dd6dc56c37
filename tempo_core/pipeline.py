"""Pipelines: custom code that orchestrates other models, called as `p.models.<name>(...)`."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

from tempo_core.custom import CustomModel
from tempo_core.errors import ModelDefinitionError
from tempo_core.frameworks import ModelFramework
from tempo_core.model import Servable, as_servable
from tempo_core.reference import ModelReference

__all__ = ["Pipeline", "PipelineModels", "require_no_stubs", "children_of", "servables_in_order"]


class PipelineModels:
    """The named children of a pipeline: `PipelineModels(sklearn=m1, xgboost=m2)`.

    To test a pipeline's own logic in-process, assign a plain function to a child
    (`classifier.models.sklearn = lambda input: ...`, or pytest's `monkeypatch.setattr`): the pipeline's code
    calls it instead of the child until the child is assigned back or the stub deleted. Stubs never travel:
    saving or deploying a pipeline with a stubbed child is refused.
    """

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
        self.__dict__["_stubs"] = {}

    def __getattr__(self, key: str) -> Any:
        stubs: dict[str, Callable[..., Any]] = self.__dict__["_stubs"]
        called = stubs[key] if key in stubs else self._child(key)
        return _Awaitable(called) if self.__dict__.get("_awaitable") else called

    def awaitable(self) -> PipelineModels:
        """The same children (and stubs) for an `async def` pipeline: each call gives an awaitable, and calls awaited
        together (`asyncio.gather`) run at the same time."""
        view = PipelineModels()
        view.__dict__.update(self.__dict__, _awaitable=True)
        return view

    def _child(self, key: str) -> Servable:
        children: dict[str, Servable] = self.__dict__["_children"]
        try:
            return children[key]
        except KeyError:
            raise AttributeError(
                f"the pipeline has no child model '{key}'; its children are: {', '.join(children) or 'none'}"
            ) from None

    def __setattr__(self, key: str, value: Any) -> None:
        child = self._child(key)
        stubs: dict[str, Callable[..., Any]] = self.__dict__["_stubs"]
        if value is child or getattr(value, "get_tempo", lambda: None)() is child:
            stubs.pop(key, None)
        elif callable(value) and not isinstance(value, Servable):
            stubs[key] = value
        else:
            raise AttributeError(
                f"child '{key}' of the pipeline can be stubbed with a plain function for in-process tests, or "
                f"assigned back its own model; got {value!r}. The children are fixed when the pipeline is defined: "
                "pass every child to PipelineModels(...)."
            )

    def __delattr__(self, key: str) -> None:
        self._child(key)
        if self.__dict__["_stubs"].pop(key, None) is None:
            raise AttributeError(f"child '{key}' of the pipeline is not stubbed; there is nothing to restore")

    def stubbed(self) -> list[str]:
        """The children whose calls in-process go to a stub instead of the child."""
        return list(self.__dict__["_stubs"])

    def keys(self) -> Iterator[str]:
        """The children's field names, in definition order."""
        return iter(self.__dict__["_children"])

    def values(self) -> Iterator[Servable]:
        """The children, in definition order (never their stubs)."""
        return iter(self.__dict__["_children"].values())

    def items(self) -> Iterator[tuple[str, Servable]]:
        """Each child with its field name, in definition order (the real children, never their stubs)."""
        return iter(self.__dict__["_children"].items())

    def __iter__(self) -> Iterator[Servable]:
        return self.values()

    def __len__(self) -> int:
        return len(self.__dict__["_children"])

    def __getstate__(self) -> dict[str, Any]:
        return {"_children": self.__dict__["_children"], "_awaitable": self.__dict__.get("_awaitable", False)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__dict__["_stubs"] = {}

    def __repr__(self) -> str:
        return "PipelineModels(" + ", ".join(f"{key}={child.name!r}" for key, child in self.items()) + ")"


class _Awaitable:
    """A child (or its stub) as an `async def` pipeline calls it: `await models.child(...)`."""

    def __init__(self, called: Any) -> None:
        self._called = called

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if isinstance(self._called, Servable):
            return await self._called.call_async(self._called.bind_arguments(args, kwargs))
        result = self._called(*args, **kwargs)
        return await result if inspect.isawaitable(result) else result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._called, name)


def require_no_stubs(servable: Servable, action: str) -> None:
    """Refuse to `action` (save, deploy) a pipeline tree in which a child is stubbed."""
    if not isinstance(servable, Pipeline):
        return
    stubbed = servable.models.stubbed()
    if stubbed:
        raise ModelDefinitionError(
            f"pipeline '{servable.name}' cannot {action} while its children {', '.join(stubbed)} are stubbed; "
            "restore them first (`del <pipeline>.models.<child>`, or assign the child back)."
        )
    for child in servable.models:
        require_no_stubs(child, action)


class Pipeline(CustomModel):
    """A custom model that calls its child models; in-process its children run in-process too."""

    def __init__(self, *args: Any, models: PipelineModels, **kwargs: Any) -> None:
        self.models = models
        super().__init__(*args, **kwargs)
        if self.is_async:
            self.models = models.awaitable()
        else:
            awaited = [child.name for child in models if child.is_async]
            if awaited:
                raise ModelDefinitionError(
                    f"pipeline '{self.name}' is a plain def, but its children {', '.join(awaited)} are async "
                    "pipelines, whose calls give coroutines; make it an `async def` and await its children."
                )
        names = [child.name for child in models]
        if self.name in names or len(set(names)) != len(names):
            raise ModelDefinitionError(
                f"pipeline '{self.name}': its children and itself must have distinct names, got "
                f"{[self.name, *names]}; rename the duplicates."
            )


def _resolved(servable: Servable) -> Servable:
    """A reference to a saved pipeline as the pipeline itself, whose children can then be walked; else unchanged."""
    if isinstance(servable, ModelReference) and servable.details.platform is ModelFramework.TempoPipeline:
        return servable.resolve()
    return servable


def children_of(model: Servable) -> list[Servable]:
    """A pipeline's children, saved pipelines among them resolved so that their own children can be walked; none
    for a model. The one way runtimes and manifests walk a pipeline's tree, with `servables_in_order`."""
    return [_resolved(child) for child in model.models] if isinstance(model, Pipeline) else []


def servables_in_order(model: Servable) -> list[Servable]:
    """The model and, for a pipeline, its children (depth first, each once), children before the pipelines calling them.

    Manifests list resources in this order so that they diff cleanly and children are applied first.
    """
    ordered: dict[str, Servable] = {}

    def visit(servable: Servable) -> None:
        for child in children_of(servable):
            visit(child)
        ordered.setdefault(servable.name, servable)

    visit(_resolved(model))
    return list(ordered.values())
