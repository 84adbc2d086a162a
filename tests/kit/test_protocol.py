"""The worker's runtime and its protocol: the runtime is complete on its own (it is copied whole
into the worker's root), and every message key that crosses is one of protocol.py's."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from grader.kit import kit_root
from grader.sandbox.runtime import protocol

RUNTIME = kit_root() / "grader" / "sandbox" / "runtime"
ALLOWED_TOP_LEVEL = {"numpy"}
# The modules that build or read messages.
MESSAGE_MODULES = [kit_root() / "grader" / "sandbox" / name
                   for name in ("client.py", "remote.py", "process.py", "runtime/worker.py")]
NAMESPACES = (protocol.Key, protocol.Op, protocol.Builtin, protocol.Attribute, protocol.Exc)


def constants(namespace: type) -> dict[str, str]:
    return {name: value for name, value in vars(namespace).items() if not name.startswith("_")}


def imports_outside_the_runtime(path: Path) -> list[str]:
    """`module (line n)` for each import of `path` that is neither of the standard library,
    nor of ALLOWED_TOP_LEVEL, nor relative (within the runtime package)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: within the package (the copy holds all of it)
                continue
            names = [node.module or ""]
        else:
            continue
        found += [f"{name} (line {node.lineno})" for name in names
                  if name.split(".")[0] not in sys.stdlib_module_names | ALLOWED_TOP_LEVEL]
    return found


@pytest.mark.parametrize("path", sorted(RUNTIME.glob("*.py")), ids=lambda p: p.name)
def test_the_runtime_imports_nothing_outside_itself(path: Path) -> None:
    assert imports_outside_the_runtime(path) == []


def test_an_import_of_the_grader_would_be_caught(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("import os\nimport numpy as np\nfrom . import wire\n"
                      "from grader.kit import kit_root\nimport pytest\n")
    assert imports_outside_the_runtime(module) == ["grader.kit (line 4)", "pytest (line 5)"]


@pytest.mark.parametrize("namespace", NAMESPACES, ids=lambda n: n.__name__)
def test_the_names_of_one_kind_never_share_a_value(namespace: type) -> None:
    values = list(constants(namespace).values())
    assert values and len(values) == len(set(values))


def bare_keys(path: Path, keys: set[str]) -> list[str]:
    """String literals of `keys` used as message keys: dict keys, subscripts, `.get(...)`,
    `... in message`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        candidates: list[ast.AST] = []
        if isinstance(node, ast.Dict):
            candidates = [k for k in node.keys if k is not None]
        elif isinstance(node, ast.Subscript):
            candidates = [node.slice]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "get" and node.args):
            candidates = [node.args[0]]
        elif isinstance(node, ast.Compare) and isinstance(node.ops[0], (ast.In, ast.NotIn)):
            candidates = [node.left]
        found += [f"{c.value!r} (line {c.lineno})" for c in candidates
                  if isinstance(c, ast.Constant) and c.value in keys]
    return found


@pytest.mark.parametrize("path", MESSAGE_MODULES, ids=lambda p: p.name)
def test_messages_are_built_and_read_with_the_protocol_names(path: Path) -> None:
    keys = set(constants(protocol.Key).values()) | set(constants(protocol.Exc).values())
    assert bare_keys(path, keys) == []


def test_the_wire_format_writes_its_message_keys_with_the_protocol_names() -> None:
    # Only these: its own nodes' keys ("v" of a tuple node...) are the node format's.
    keys = set(constants(protocol.Exc).values()) | {protocol.Key.MIRRORS}
    assert bare_keys(RUNTIME / "wire.py", keys) == []
