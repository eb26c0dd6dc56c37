"""Which installed distributions a model's pickled code needs, from the modules it refers to.

Without a requirements file, saving a model pins the closure of these distributions rather than the
whole virtualenv, as MLflow infers a model's pip requirements. What the pickler sees: the modules,
classes and functions the code refers to, the types of the objects it holds, and the `import`
statements inside code that travels by value (imports inside a function body included). What the
model's loader unpickles from its folder (a joblib or pickle file of an estimator) is read from those
files' own opcodes, without loading them.
"""

from __future__ import annotations

import dis
import importlib.metadata
import io
import pickletools
import re
import sys
import types
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["ModuleRecorder", "distributions_of", "modules_in_pickle_files"]

_REFERENCES = (type, types.FunctionType, types.BuiltinFunctionType, types.MethodType)
# Values of these types come from no distribution; a model's data holds many of them, so skip them first.
_PLAIN = frozenset({int, float, complex, bool, str, bytes, bytearray, tuple, list, dict, set, frozenset, type(None)})
# Files a loader unpickles, by suffix; only their head is read, where pickles name the classes they rebuild.
PICKLE_SUFFIXES = frozenset({".pkl", ".pickle", ".joblib", ".sav"})
_PICKLE_HEAD_BYTES = 4 * 1024 * 1024
_MODULE_PATH = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


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


def modules_in_pickle_files(folder: Path, skip: Iterable[str] = ()) -> set[str]:
    """The top-level modules that the pickle and joblib files in `folder` name, which unpickling them imports.

    Files named in `skip` (relative to `folder`) are left out. A file that is not a pickle (or a compressed
    joblib file) names none; a joblib file's array data ends its opcodes, after the classes are named.
    """
    skipped = set(skip)
    found: set[str] = set()
    for path in sorted(folder.rglob("*")):
        if path.suffix in PICKLE_SUFFIXES and path.is_file() and path.relative_to(folder).as_posix() not in skipped:
            with open(path, "rb") as handle:
                found |= _named_modules(handle.read(_PICKLE_HEAD_BYTES))
    return found


def _named_modules(head: bytes) -> set[str]:
    """The top-level modules of the classes and functions a pickle names (GLOBAL, or two strings and
    STACK_GLOBAL), up to the first opcode it cannot read."""
    names: set[str] = set()
    strings: list[str] = []
    try:
        for opcode, argument, _ in pickletools.genops(io.BytesIO(head)):
            if isinstance(argument, str):
                strings = [*strings[-1:], argument]
            if opcode.name == "GLOBAL" and isinstance(argument, str):
                names.add(argument.partition(" ")[0].partition(".")[0])
            elif opcode.name == "STACK_GLOBAL" and len(strings) == 2 and _MODULE_PATH.match(strings[0]):
                names.add(strings[0].partition(".")[0])
    except (ValueError, EOFError, IndexError):  # where the readable opcodes end (a joblib file's array data)
        pass
    return names
