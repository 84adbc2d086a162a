"""Generate the student stubs in exercises/ from the reference solutions in solutions/.

In a solution, each part a student writes is fenced:

    def square(x):
        \"\"\"x**2, elementwise.\"\"\"
        # BEGIN SOLUTION
        return x * x
        # END SOLUTION

The stub keeps everything else (docstrings, signatures, imports) and replaces each fence with
`raise NotImplementedError("<exercise>: <function> is not implemented yet")`.
"""

from __future__ import annotations

import ast
from pathlib import Path

from grader.kit import EXERCISES

BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"


class FenceError(ValueError):
    """A solution's fences are malformed (unclosed, nested, or outside a function)."""


def enclosing_functions(source: str) -> dict[int, str]:
    """Map each line of a function body to the function's qualified name (`Perceptron.fit`)."""
    owner: dict[int, str] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                for line in range(child.lineno, (child.end_lineno or child.lineno) + 1):
                    owner[line] = name
                visit(child, f"{name}.")

    visit(ast.parse(source), "")
    return owner


def make_stub(source: str, exercise: str) -> str:
    """The stub of one solution module's source."""
    owner = enclosing_functions(source)
    lines = source.splitlines(keepends=True)
    out: list[str] = []
    fenced_functions: set[str] = set()
    start: int | None = None
    for number, line in enumerate(lines, start=1):
        marker = line.strip()
        if marker == BEGIN:
            if start is not None:
                raise FenceError(f"{exercise}: line {number}: nested {BEGIN}")
            function = owner.get(number)
            if function is None:
                raise FenceError(f"{exercise}: line {number}: {BEGIN} outside a function")
            if function in fenced_functions:
                raise FenceError(f"{exercise}: {function} has more than one fence")
            fenced_functions.add(function)
            start = number
            indent = line[: len(line) - len(line.lstrip())]
            message = f"{exercise}: {function} is not implemented yet"
            out.append(f'{indent}raise NotImplementedError("{message}")\n')
        elif marker == END:
            if start is None:
                raise FenceError(f"{exercise}: line {number}: {END} without {BEGIN}")
            start = None
        elif start is None:
            out.append(line)
    if start is not None:
        raise FenceError(f"{exercise}: line {start}: {BEGIN} is never closed")
    if not fenced_functions:
        raise FenceError(f"{exercise}: no {BEGIN} fence: the stub would be the solution")
    return "".join(out)


def expected_stubs(solutions: Path) -> dict[str, str]:
    """File name -> generated stub text, for every exercise solution present."""
    return {
        f"{name}.py": make_stub((solutions / f"{name}.py").read_text(), name)
        for name in EXERCISES
        if (solutions / f"{name}.py").is_file()
    }


def stale_stubs(solutions: Path, exercises: Path) -> list[str]:
    """Names of the stub files in `exercises` that differ from what generation gives."""
    return [
        name
        for name, text in expected_stubs(solutions).items()
        if not (exercises / name).is_file() or (exercises / name).read_text() != text
    ]


def write_stubs(solutions: Path, exercises: Path) -> list[str]:
    """Regenerate every stub; returns the names of the files that changed."""
    changed = stale_stubs(solutions, exercises)
    for name, text in expected_stubs(solutions).items():
        if name in changed:
            (exercises / name).write_text(text)
    return changed
