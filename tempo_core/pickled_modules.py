"""Which installed distributions a model's pickled code needs, from the modules it refers to.

Without a requirements file, saving a model pins the closure of these distributions rather than the
whole virtualenv, as MLflow infers a model's pip requirements. What the pickler sees: the modules,
classes and functions the code refers to, the types of the objects it holds, and the `import`
statements inside code that travels by value (imports inside a function body included).
"""

from __future__ import annotations

import dis
import importlib.metadata
import sys
import types
from collections.abc import Iterable
from typing import Any

__all__ = ["ModuleRecorder", "distributions_of"]

_REFERENCES = (type, types.FunctionType, types.BuiltinFunctionType, types.MethodType)
# Values of these types come from no distribution; a model's data holds many of them, so skip them first.
_PLAIN = frozenset({int, float, complex, bool, str, bytes, bytearray, tuple, list, dict, set, frozenset, type(None)})


class ModuleRecorder:
    """Collects the top-level module names of the objects a pickler saves; call `note` with each."""

    def __init__(self) -> None:
        self.modules: set[str] = set()

    def note(self, obj: Any) -> None:
        """Record the module `obj` comes from (and, for code, the modules it imports)."""
        if type(obj) in _PLAIN:
            return
        if isinstance(obj, types.CodeType):
            self.modules.update(
                str(instruction.argval).partition(".")[0]
                for instruction in dis.get_instructions(obj)
                if instruction.opname == "IMPORT_NAME"
            )
            return
        if isinstance(obj, types.ModuleType):
            name = obj.__name__
        elif isinstance(obj, _REFERENCES):
            name = getattr(obj, "__module__", None) or ""
        else:
            name = type(obj).__module__
        self.modules.add(name.partition(".")[0])


def distributions_of(modules: Iterable[str]) -> list[str]:
    """The installed distributions that provide `modules`, sorted; the standard library and modules that
    no distribution provides (the user's own files) are left out."""
    providers = importlib.metadata.packages_distributions()
    return sorted(
        {
            distribution
            for module in modules
            if module and module not in sys.stdlib_module_names
            for distribution in providers.get(module, ())
        }
    )
