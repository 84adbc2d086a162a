"""Generate the notebooks in notebooks/ from the same sources as the stubs.

One notebook per exercise, built from its stub (`grader.authoring.stubs.make_stub` of
`solutions/<exercise>.py`):
- the lesson as markdown: the module docstring, each function's docstring (formulas as code
  blocks, the naive recipe flagged as the trap), and the exercise's main trap up front (its
  record's `trap`, grader.kit);
- the stub's code, cut at each top-level `def`/`class` into code cells tagged
  `exercise:<name>`. Joined in order, the tagged cells are the stub: a notebook graded as a
  submission runs the same code as exercises/<name>.py;
- untagged cells (never graded): a setup cell that makes the checkout importable and, where the
  stub imports an earlier exercise (`from .activations import relu`), sets
  `__package__ = "exercises"` so that import loads the student's own exercises/ package, as it
  does in exercises/<name>.py; and a last cell that runs the public checks and shows the score
  (`grader.authoring.in_notebook.check_notebook`).

Plus the capstone notebook (`grader.authoring.capstone`). `grade notebooks` writes them all;
`grade notebooks --check` fails when a checked-in notebook differs from generation.
"""

from __future__ import annotations

import ast
import copy
import inspect
import re
import textwrap
from itertools import pairwise
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from grader.authoring.capstone import capstone_cells
from grader.authoring.stubs import make_stub
from grader.kit import EXERCISES, exercise_record

TAG_PREFIX = "exercise:"


def tagged(exercise: str) -> dict[str, list[str]]:
    """The metadata of a code cell that belongs to `exercise`."""
    return {"tags": [f"{TAG_PREFIX}{exercise}"]}


def definition_starts(source: str) -> list[int]:
    """0-based line numbers where each top-level def or class begins, with its decorators and
    the comment lines right above it."""
    lines = source.splitlines()
    starts = []
    for node in ast.parse(source).body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        start = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
        while start > 0 and lines[start - 1].lstrip().startswith("#"):
            start -= 1
        starts.append(start)
    return starts


def split_cells(source: str) -> list[str]:
    """The module's code cut into cells: the header (docstring, imports, constants), then one
    cell per top-level def or class. Each cell is a slice of `source` without its surrounding
    blank lines, so the cells in order, joined by blank lines, are `source`."""
    lines = source.splitlines(keepends=True)
    bounds = [0, *definition_starts(source), len(lines)]
    chunks = ("".join(lines[a:b]).strip("\n") for a, b in pairwise(bounds))
    return [chunk for chunk in chunks if chunk.strip()]


def join_cells(cells: list[str]) -> str:
    """A module's text from its cells, laid out as the stubs are (two blank lines between)."""
    return "\n\n\n".join(cell.strip("\n") for cell in cells) + "\n"


def escape_markdown(text: str) -> str:
    """Docstring prose as literal markdown: `*`, `_` and `$` outside backticks are escaped, so
    `s(z) * (1 - s(z))` stays a product and `x_i` stays a name (Jupyter reads $...$ as LaTeX)."""
    parts = re.split(r"(`[^`]*`)", text)
    return "".join(
        part if part.startswith("`") else re.sub(r"([*_$])", r"\\\1", part) for part in parts
    )


def docstring_markdown(doc: str) -> str:
    """A docstring as markdown: indented blocks (formulas, examples) become code blocks, a
    paragraph that starts with "Naive" is flagged as the trap, the rest is escaped prose."""
    out: list[str] = []
    block: list[str] = []

    def close_block() -> None:
        if block:
            out.extend(["", "```text", *textwrap.dedent("\n".join(block)).splitlines(), "```", ""])
            block.clear()

    for line in inspect.cleandoc(doc).splitlines():
        if line.startswith("    ") and line.strip():
            block.append(line)
            continue
        close_block()
        if line.startswith("Naive"):
            line = "**The trap.** " + escape_markdown(line)
        else:
            line = escape_markdown(line)
        out.append(line)
    close_block()
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip()


def call_signature(node: ast.FunctionDef | ast.AsyncFunctionDef, source: str) -> str:
    """`name(arg, arg=default)` as written in `source`, without annotations or `self`: how a
    student calls it."""
    args = copy.deepcopy(node.args)
    for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
        if arg is not None:
            arg.annotation = None
    if args.args and args.args[0].arg == "self":
        args.args = args.args[1:]

    def as_written(default: ast.expr) -> ast.expr:  # 1e-5, not ast.unparse's 1e-05
        return ast.Name(id=ast.get_source_segment(source, default) or ast.unparse(default))

    args.defaults = [as_written(d) for d in args.defaults]
    args.kw_defaults = [None if d is None else as_written(d) for d in args.kw_defaults]
    return f"{node.name}({ast.unparse(args)})"


def is_fenced(node: ast.AST, exercise: str, code: str) -> bool:
    """Whether `code` (a stub) leaves part of this definition for the student to write."""
    segment = ast.get_source_segment(code, node) or ""
    return f'NotImplementedError("{exercise}: ' in segment


def definition_markdown(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, exercise: str,
                        code: str) -> str:
    """The lesson above a def or class cell: its signature, docstring and methods."""
    yours = is_fenced(node, exercise, code)
    if isinstance(node, ast.ClassDef):
        title = f"## class `{node.name}`"
    else:
        title = f"## `{call_signature(node, code)}`"
    parts = [title + ("" if yours else " (given)")]
    if doc := ast.get_docstring(node, clean=True):
        parts.append(docstring_markdown(doc))
    if isinstance(node, ast.ClassDef):
        for method in node.body:
            if not isinstance(method, ast.FunctionDef) or method.name.startswith("_"):
                continue
            line = f"### `{call_signature(method, code)}`"
            if not is_fenced(method, exercise, code):
                line += " (given)"
            parts.append(line)
            if doc := ast.get_docstring(method, clean=True):
                parts.append(docstring_markdown(doc))
    if not yours:
        parts.append("This one is written for you: run its cell.")
    return "\n\n".join(parts)


def imports_earlier_exercise(source: str) -> bool:
    """Whether the module imports another exercise (`from .activations import relu`)."""
    return any(isinstance(n, ast.ImportFrom) and n.level > 0 for n in ast.parse(source).body)


def setup_code(code: str) -> str:
    lines = [
        "# Setup (not graded): run this cell first.",
        "import sys",
        "from pathlib import Path",
        "",
        "# The checkout: Jupyter starts a notebook in its own folder, notebooks/.",
        'CHECKOUT = Path.cwd().parent if Path.cwd().name == "notebooks" else Path.cwd()',
        "sys.path.insert(0, str(CHECKOUT))",
    ]
    if imports_earlier_exercise(code):
        lines += [
            "# The cells below import earlier exercises as exercises/ files do",
            "# (`from .activations import relu`); this makes those imports load your own",
            "# exercises/ package. Restart the kernel after editing those files.",
            '__package__ = "exercises"',
        ]
    return "\n".join(lines)


def module_markdown(code: str) -> str:
    """The module docstring as the lesson's opening: its first line as a heading."""
    summary, _, rest = (ast.get_docstring(ast.parse(code)) or "").partition("\n")
    return "\n\n".join(part for part in [
        f"## {escape_markdown(summary.rstrip('.'))}",
        docstring_markdown(rest) if rest.strip() else "",
        "The first cell below holds the module's imports and constants: run it.",
    ] if part)


def intro_markdown(exercise: str) -> str:
    record = exercise_record(exercise)
    return f"""# Exercise {record.position}: {exercise}

Fill in the cells tagged `{TAG_PREFIX}{exercise}` (JupyterLab shows a cell's tags in the
property inspector, the gear icon on the right): replace each `raise NotImplementedError(...)`
with your code. Those cells, joined in order, are your `exercises/{exercise}.py`; no other cell
is graded.

Run the setup cell first. The last cell grades your work with the public tests of this
exercise; your instructor also runs hidden tests.

**The trap to avoid.** {record.trap}"""


CHECK_MARKDOWN = """## Check your work

Save the notebook first (Ctrl-S): the check grades the saved file, as your instructor will,
with the public tests of this exercise and your other exercises from `exercises/`."""


def exercise_notebook(exercise: str, code: str) -> NotebookNode:
    """The notebook of one exercise, whose tagged cells hold `code` (the stub, or any module
    with the stub's docstrings and definitions, such as the reference in the kit's tests)."""
    nodes = [
        n for n in ast.parse(code).body
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    ]
    header, *definitions = split_cells(code)
    cells = [
        nbformat.v4.new_markdown_cell(intro_markdown(exercise)),
        nbformat.v4.new_code_cell(setup_code(code)),
        nbformat.v4.new_markdown_cell(module_markdown(code)),
        nbformat.v4.new_code_cell(header, metadata=tagged(exercise)),
    ]
    for node, cell in zip(nodes, definitions, strict=True):
        cells.append(nbformat.v4.new_markdown_cell(definition_markdown(node, exercise, code)))
        cells.append(nbformat.v4.new_code_cell(cell, metadata=tagged(exercise)))
    cells += [
        nbformat.v4.new_markdown_cell(CHECK_MARKDOWN),
        nbformat.v4.new_code_cell(
            "from grader.authoring.in_notebook import check_notebook, save_to_exercises\n\n"
            f'check_notebook("{exercise}", CHECKOUT)'
        ),
    ]
    return finish(cells, exercise)


def finish(cells: list[NotebookNode], stem: str) -> NotebookNode:
    """A notebook of these cells with stable cell ids and metadata, so regeneration is
    byte-identical."""
    for number, cell in enumerate(cells):
        cell["id"] = f"{stem}-{number:02d}"
    notebook = nbformat.v4.new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
    )
    nbformat.validate(notebook)
    return notebook


def notebook_text(notebook: NotebookNode) -> str:
    return nbformat.writes(notebook) + "\n"


def tagged_sources(notebook: NotebookNode, exercise: str) -> list[str]:
    """The sources of the code cells tagged `exercise:<exercise>`, in order."""
    tag = f"{TAG_PREFIX}{exercise}"
    return [
        cell.source for cell in notebook.cells
        if cell.cell_type == "code" and tag in cell.get("metadata", {}).get("tags", [])
    ]


def expected_notebooks(kit: Path) -> dict[str, str]:
    """File name -> generated notebook text: one per exercise solution present, and the
    capstone."""
    texts = {
        f"{name}.ipynb": notebook_text(
            exercise_notebook(name, make_stub((kit / "solutions" / f"{name}.py").read_text(), name))
        )
        for name in EXERCISES
        if (kit / "solutions" / f"{name}.py").is_file()
    }
    texts["capstone.ipynb"] = notebook_text(finish(capstone_cells(), "capstone"))
    return texts


def stale_notebooks(kit: Path) -> list[str]:
    """Names of the files in notebooks/ that differ from what generation gives."""
    folder = kit / "notebooks"
    return [
        name for name, text in expected_notebooks(kit).items()
        if not (folder / name).is_file() or (folder / name).read_text() != text
    ]


def write_notebooks(kit: Path) -> list[str]:
    """Regenerate every notebook in notebooks/; returns the names of the files that changed."""
    folder = kit / "notebooks"
    folder.mkdir(exist_ok=True)
    changed = stale_notebooks(kit)
    for name, text in expected_notebooks(kit).items():
        if name in changed:
            (folder / name).write_text(text)
    return changed
