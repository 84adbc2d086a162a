"""Which of a submission's exercises use which others, read from their source. Pure: no I/O.

The contract lets a later exercise import an earlier one (`from .activations import relu`), so
a broken `sigmoid` can fail the backprop tests too. Knowing what each exercise uses lets the
feedback say so first ("backprop uses your activations, which fail 3 tests: fix those first").

It is decided from the staged source alone, in trusted code: `ast` and `symtable` parse it, and
nothing of it runs. An exercise E uses an exercise D when E's module

- imports D by name, anywhere in it (in a function too): `from .D import f`, `from D import f`,
  `from . import D`, `import D`, `import exercises.D`, `from exercises.D import f`; or
- star-imports D (`from .D import *`, as a staged notebook does for every earlier exercise,
  see grader/grading/submission.py) and reads a name that D binds. A star import alone is not a
  use: a notebook's module star-imports every earlier exercise whether its cells need them or
  not, so only the names its code reads decide. A name read is one the module reads as a global
  (at its top level or in any function, class or comprehension) without binding it itself; it
  comes from the last star import that provides it, as in Python, and through that module's own
  star imports to the module that binds it. `__all__` is not read (none of the kit's modules
  and no notebook's has one): every name not starting with `_` counts as provided.

A module that does not parse uses nothing: it fails its own tests, and says why there.
Imports built at run time (`importlib.import_module("activations")`) are not seen.
"""

from __future__ import annotations

import ast
import importlib.util
import symtable
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from grader.kit import EXERCISES

# The package a checkout's files sit in: `from exercises.activations import relu` names one.
CHECKOUT_PACKAGE = "exercises"


@dataclass(frozen=True)
class ModuleNames:
    """What one module's source says about names: the exercises it imports by name, the
    exercises it star-imports (in source order), the names it binds at its top level, and the
    global names it reads without binding them."""

    imported: frozenset[str] = frozenset()
    starred: tuple[str, ...] = ()
    bound: frozenset[str] = frozenset()
    read: frozenset[str] = frozenset()


def exercise_named(module: str | None, level: int) -> str | None:
    """The exercise a module path of an import names ("activations", ".activations",
    "exercises.activations"), else None."""
    parts = module.split(".") if module else []
    if level > 0 and len(parts) == 1:
        name = parts[0]
    elif level == 0 and len(parts) in (1, 2) and parts[:-1] in ([], [CHECKOUT_PACKAGE]):
        name = parts[-1]
    else:
        return None
    return name if name in EXERCISES else None


def import_facts(tree: ast.AST) -> tuple[frozenset[str], tuple[str, ...]]:
    """(exercises imported by name, exercises star-imported in source order) of a module."""
    imported: set[str] = set()
    starred: list[str] = []
    # In source order: a later star import overrides an earlier one's names. (A notebook's
    # guarded ones sit inside `try`, which ast.walk reaches after the top-level statements.)
    nodes = sorted((n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))),
                   key=lambda n: (n.lineno, n.col_offset))
    for node in nodes:
        if isinstance(node, ast.Import):
            imported.update(e for alias in node.names if (e := exercise_named(alias.name, 0)))
            continue
        named = exercise_named(node.module, node.level)
        if named and any(alias.name == "*" for alias in node.names):
            starred.append(named)
        elif named:
            imported.add(named)
        elif (node.level > 0 and node.module is None) or node.module == CHECKOUT_PACKAGE:
            # `from . import activations`, `from exercises import activations`
            imported.update(a.name for a in node.names if a.name in EXERCISES)
    return frozenset(imported), tuple(starred)


def global_names(table: symtable.SymbolTable) -> tuple[set[str], set[str]]:
    """(names bound at module level, global names read) over a module's scopes."""
    bound: set[str] = set()
    read: set[str] = set()
    top = table.get_type() == "module"
    for symbol in table.get_symbols():
        name = symbol.get_name()
        if top:
            if symbol.is_assigned() or symbol.is_imported():
                bound.add(name)
            elif symbol.is_referenced():
                read.add(name)
        elif symbol.is_global():
            if symbol.is_declared_global() and symbol.is_assigned():
                bound.add(name)  # `global x; x = ...` in a function binds x in the module
            if symbol.is_referenced():
                read.add(name)
    for child in table.get_children():
        child_bound, child_read = global_names(child)
        bound |= child_bound
        read |= child_read
    return bound, read


def module_names(source: str | bytes) -> ModuleNames:
    """The ModuleNames of a module's source; empty when it does not parse."""
    try:
        tree = ast.parse(source)
        text = source if isinstance(source, str) else importlib.util.decode_source(source)
        table = symtable.symtable(text, "<exercise>", "exec")
    # ValueError: a null byte; RecursionError: nesting too deep for the compiler.
    except (SyntaxError, ValueError, RecursionError):
        return ModuleNames()
    imported, starred = import_facts(tree)
    bound, read = global_names(table)
    return ModuleNames(imported, starred, frozenset(bound), frozenset(read - bound))


def origin(name: str, module: str, modules: Mapping[str, ModuleNames],
           seen: frozenset[str] = frozenset()) -> str | None:
    """The exercise whose own binding `name` is in `module`'s namespace: `module` itself if it
    binds it, else the last of its star imports that provides it (followed into that module's
    star imports). None: no exercise provides it."""
    facts = modules.get(module)
    if facts is None or module in seen:
        return None
    if name in facts.bound:
        return module
    for star in reversed(facts.starred):
        found = origin(name, star, modules, seen | {module})
        if found is not None:
            return found
    return None


def exercise_uses(sources: Mapping[str, str | bytes]) -> dict[str, tuple[str, ...]]:
    """Exercise -> the other exercises its module uses, in teaching order (the rule is the
    module's docstring). `sources`: exercise name -> its module's source."""
    modules = {name: module_names(source) for name, source in sources.items()}
    uses = {}
    for name, facts in modules.items():
        used = set(facts.imported)
        # A star import provides no name that starts with "_".
        for read in (n for n in facts.read if not n.startswith("_")):
            found = next((o for star in reversed(facts.starred)
                          if (o := origin(read, star, modules, frozenset({name}))) is not None),
                         None)
            if found is not None:
                used.add(found)
        uses[name] = tuple(e for e in EXERCISES if e in used and e != name)
    return uses


def failing_uses(
    exercise: str, uses: Mapping[str, Sequence[str]], failures: Mapping[str, int]
) -> list[tuple[str, int]]:
    """(exercise, failing tests) of each exercise that `exercise` uses, directly or through
    another it uses, and that fails tests; in teaching order. An exercise absent from
    `failures` (not graded) or with 0 is left out."""
    reached: set[str] = set()
    todo = list(uses.get(exercise, ()))
    while todo:
        used = todo.pop()
        if used not in reached and used != exercise:
            reached.add(used)
            todo += uses.get(used, ())
    return [(e, failures[e]) for e in EXERCISES if e in reached and failures.get(e, 0) > 0]


def cause_line(exercise: str, failing: Sequence[tuple[str, int]]) -> str:
    """The one line that says where an exercise's failures may come from, or "" for none:
    "backprop uses your activations, which fail 3 tests: fix those first"."""
    if not failing:
        return ""
    parts = [f"your {name}, which fail{' 1 test' if count == 1 else f' {count} tests'}"
             for name, count in failing]
    return f"{exercise} uses {', and '.join(parts)}: fix those first"
