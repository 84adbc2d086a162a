"""Import exercise modules from a folder of exercise files, as one package.

A folder (the checkout's `exercises/`, `solutions/`, or a staged submission) becomes a package
with a name of its own, so that `from .activations import relu` inside it resolves to the same
folder and two folders never share modules.
"""

from __future__ import annotations

import hashlib
import importlib
import sys
import types
from pathlib import Path


class ExerciseImportError(Exception):
    """An exercise file is missing or fails to import; the message is one line for a student."""


def package_name_for(folder: Path) -> str:
    digest = hashlib.sha1(str(folder.resolve()).encode()).hexdigest()[:10]
    return f"_kit_impl_{digest}"


def load_exercise(folder: Path, exercise: str) -> types.ModuleType:
    """Import `<folder>/<exercise>.py` as a module of the folder's package."""
    folder = Path(folder).resolve()
    if not (folder / f"{exercise}.py").is_file():
        raise ExerciseImportError(f"{exercise}.py is missing from {folder.name}/")
    package = package_name_for(folder)
    if package not in sys.modules:
        module = types.ModuleType(package)
        module.__path__ = [str(folder)]
        sys.modules[package] = module
    try:
        return importlib.import_module(f"{package}.{exercise}")
    except SyntaxError as err:
        raise ExerciseImportError(
            f"{exercise}.py does not compile: {err.msg} (line {err.lineno})"
        ) from err
    except Exception as err:
        raise ExerciseImportError(
            f"{exercise}.py failed to import: {type(err).__name__}: {err}"
        ) from err
