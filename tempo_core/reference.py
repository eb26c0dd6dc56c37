"""References to models saved elsewhere: how a saved pipeline holds its children."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tempo_core.details import ModelDetails
from tempo_core.errors import ArtifactError
from tempo_core.loading import LoadOnce
from tempo_core.model import Model, Servable
from tempo_core.signature import bind_by_signature

if TYPE_CHECKING:
    from tempo_core.protocol import WireProtocol

__all__ = ["ModelReference"]


class ModelReference(Servable):
    """A child model known by its details; in-process it loads the child's artifact on first use."""

    def __init__(self, details: ModelDetails, protocol: WireProtocol | None = None) -> None:
        super().__init__(details, protocol)
        self._target: LoadOnce[Servable] = LoadOnce(self._load_target)

    def _load_target(self) -> Servable:
        if not self.details.platform.is_custom_code:
            return Model(
                name=self.name,
                platform=self.details.platform,
                local_folder=self.details.local_folder,
                uri=self.details.uri,
                protocol=self.protocol,
            )
        from tempo_core.artifact import load

        if not self.details.local_folder:
            raise ArtifactError(f"child model '{self.name}' has no local_folder to load it from; save it first")
        return load(self.details.local_folder)

    def resolve(self) -> Servable:
        """The referenced model, loaded from its folder."""
        return self._target.get()

    @property
    def is_async(self) -> bool:
        """Whether the referenced model's code is an `async def` (a custom child is loaded to tell)."""
        return self.details.platform.is_custom_code and self.resolve().is_async

    def bind_arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """Bind by the child's signature."""
        return bind_by_signature(self.signature, args, kwargs, self.name)

    def call_in_process(self, arguments: dict[str, Any]) -> Any:
        """Run the referenced model in this process."""
        return self.resolve().call_in_process(arguments)

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_target", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._target = LoadOnce(self._load_target)
