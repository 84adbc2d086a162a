"""The pytest side of the kit: how a suite reaches the code under test.

Suites never import `exercises`, `solutions` or a submission. They ask for fixtures:
- `impl`: the implementation under test, for the exercise the test file belongs to
  (`test_<exercise>.py`). Call the contract's functions on it: `impl.sigmoid(z)`. For a test that
  needs several calls to share objects inside the implementation, `impl.run(scenario, *args)`
  calls `scenario(module, *args)` next to the implementation and returns its (plain data) result;
  a scenario is a top-level function that uses only its arguments, `np` and the module.
- `ref`: the reference solution of that exercise (hidden suites only; trusted).

`--impl` chooses what `impl` is: `exercises` (default: the checkout's stubs or a student's work),
`reference` (the solutions), or a path to a folder of exercise files. With `--sandbox`, `impl` is
a proxy (grader.sandbox.remote.SandboxImpl) whose calls run in a worker process under limits: the
submission's code never runs in this process.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

from grader.kit import exercise_of_test_file, kit_root, visibility_of_test_file
from grader.sandbox.errors import FAILURE_METADATA, SubmissionFault, failure_kind
from grader.sandbox.isolation import MODES
from grader.sandbox.runtime.loading import ExerciseImportError, load_exercise

if TYPE_CHECKING:
    from grader.sandbox.client import WorkerClient
    from grader.sandbox.remote import SandboxImpl

SANDBOX = pytest.StashKey["WorkerClient"]()
# pytest_json_modifyreport is given no config: the session's, kept at configure.
PLUGIN_CONFIG: dict[str, pytest.Config] = {}
# What the submission printed during each stage of a test ("setup", "call"), for the report.
OUTPUT = pytest.StashKey[dict[str, str]]()
# Why the sandbox could not start, when it could not (the grader's failure, not the submission's).
SANDBOX_BROKEN = pytest.StashKey[str]()
# A failed stage's output kept in the JSON report: `grade -v` shows less than this.
OUTPUT_KEPT = 4000
# The sandbox failure (grader.sandbox.errors) each failed stage of a test ended with, for the
# report's FAILURE_METADATA: stage -> {"kind": its kind, "message": its text}.
FAILURES = pytest.StashKey[dict[str, dict[str, str]]]()


class InProcessImpl:
    """An exercise module, plus `run` for scenarios. The sandbox swaps in a proxy of this shape."""

    def __init__(self, module: ModuleType) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)

    def run(self, scenario: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return scenario(self._module, *args, **kwargs)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kit")
    group.addoption(
        "--impl",
        default="exercises",
        help="what the suites test: 'exercises' (default), 'reference', or a folder of "
        "exercise files",
    )
    group.addoption(
        "--sandbox",
        action="store_true",
        help="run the implementation in a worker process under limits (how `grade` grades)",
    )
    group.addoption(
        "--sandbox-isolation",
        choices=("auto", *MODES),
        default="auto",
        help="how the worker is isolated (auto: the strongest this machine allows); see "
        "docs/security.md",
    )
    group.addoption(
        "--sandbox-limit",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="change one limit of the sandbox, e.g. call_timeout_s=5 or memory_bytes=1G "
        "(names: grader/sandbox/limits.py)",
    )
    group.addoption(
        "--sandbox-zygote",
        default=None,
        metavar="SOCKET",
        help="fork workers from this zygote, which has the libraries imported (grade batch "
        "starts one: grader/sandbox/zygote.py)",
    )
    group.addoption(
        "--write-manifest",
        default=None,
        metavar="PATH",
        help="with --collect-only: write the collected suite tests as a manifest (JSON)",
    )


def impl_folder(config: pytest.Config) -> Path:
    choice = config.getoption("--impl")
    if choice == "exercises":
        return config.rootpath / "exercises"
    if choice == "reference":
        return config.rootpath / "solutions"
    return Path(choice).resolve()


def exercise_of(node: pytest.Item) -> str:
    exercise = exercise_of_test_file(Path(node.path))
    if exercise is None:
        pytest.fail(f"{Path(node.path).name} belongs to no exercise (name it test_<exercise>.py)")
    return exercise


@pytest.fixture
def impl(request: pytest.FixtureRequest) -> InProcessImpl | SandboxImpl:
    """The implementation under test for this test file's exercise."""
    exercise = exercise_of(request.node)
    if request.config.getoption("--sandbox"):
        return sandbox_impl(request, exercise)
    try:
        return InProcessImpl(load_exercise(impl_folder(request.config), exercise))
    except ExerciseImportError as err:
        why = str(err)
    # Failing outside the except block keeps the import error out of the report's traceback.
    pytest.fail(why, pytrace=False)


def sandbox_client(config: pytest.Config) -> WorkerClient:
    """The session's worker client: one submission, one worker at a time."""
    client = config.stash.get(SANDBOX, None)
    if client is None:
        from grader.sandbox.client import WorkerClient
        from grader.sandbox.limits import limits_from_settings

        mode = config.getoption("--sandbox-isolation")
        zygote = config.getoption("--sandbox-zygote")
        client = WorkerClient(impl_folder(config),
                              limits_from_settings(config.getoption("--sandbox-limit")),
                              None if mode == "auto" else mode,
                              None if zygote is None else Path(zygote))
        config.stash[SANDBOX] = client
        config.add_cleanup(client.close)
    return client


def sandbox_impl(request: pytest.FixtureRequest, exercise: str) -> SandboxImpl:
    from grader.sandbox.errors import SandboxError
    from grader.sandbox.remote import SandboxImpl

    broken = request.config.stash.get(SANDBOX_BROKEN, None)
    if broken is not None:
        pytest.fail(broken, pytrace=False)
    client = sandbox_client(request.config)
    client.take_output()  # printed between tests: it belongs to none
    failure: BaseException
    try:
        return SandboxImpl(client, exercise)
    except SandboxError as err:
        # No worker ever served this test: nothing here is the submission's doing. The report
        # says so at its top (`pytest_json_modifyreport`) and the run stops: the grader then
        # writes no score at all.
        request.config.stash[SANDBOX_BROKEN] = str(err)
        request.session.shouldstop = "the sandbox could not start"
        failure = err
    except (ExerciseImportError, SubmissionFault) as err:
        failure = err
    # A fixture may fail only with an Exception or pytest's own outcomes (pytest keeps no state
    # for others): the failure's kind is noted here, where its type is still known.
    note_failure(request.node, "setup", failure)
    add_output_section(request.node, "setup", client)
    why = (str(failure) if isinstance(failure, ExerciseImportError)
           else f"{type(failure).__name__}: {failure}")
    pytest.fail(why, pytrace=False)


def note_failure(item: pytest.Item, when: str, err: BaseException) -> None:
    """Keep the kind and text of a sandbox failure that ended the stage, for the report."""
    kind = failure_kind(err)
    if kind is not None:
        item.stash.setdefault(FAILURES, {})[when] = {"kind": kind, "message": str(err)}


def add_output_section(item: pytest.Item, when: str, client: WorkerClient) -> None:
    """What the submission printed, as a labelled section of the test's report (never parsed)."""
    text = client.take_output()
    if text:
        item.add_report_section(when, "submission output", text)
        item.stash.setdefault(OUTPUT, {})[when] = text


@pytest.hookimpl(optionalhook=True)
def pytest_json_runtest_metadata(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> dict[str, Any] | None:
    """What a failed stage leaves in the report's metadata, which pytest-json-report fills
    from this hook only: the submission's output (`submission_output`: stage -> its head), and
    the sandbox failure the stage ended with (FAILURE_METADATA: stage -> its kind and text).
    """
    if call.excinfo is None:
        return None
    note_failure(item, call.when, call.excinfo.value)
    metadata: dict[str, Any] = {}
    failures = item.stash.get(FAILURES, {})
    if failures:  # every stage's so far: the report keeps the last value of each key
        metadata[FAILURE_METADATA] = dict(failures)
    text = item.stash.get(OUTPUT, {}).get(call.when, "")
    if len(text) > OUTPUT_KEPT:
        text = text[:OUTPUT_KEPT] + f"\n[... {len(text) - OUTPUT_KEPT} more characters not shown]"
    if text:
        metadata["submission_output"] = {call.when: text}
    return metadata or None


@pytest.hookimpl(optionalhook=True)
def pytest_json_modifyreport(json_report: dict[str, Any]) -> None:
    """The sandbox's own facts at the top of the report: the isolation mode that ran, and why
    it could not start, if it could not (`"sandbox": {"isolation": ..., "error": ...}`)."""
    config = PLUGIN_CONFIG.get("config")
    if config is None or not config.getoption("--sandbox"):
        return
    client = config.stash.get(SANDBOX, None)
    facts: dict[str, str] = {}
    if client is not None:
        facts["isolation"] = client.mode
    broken = config.stash.get(SANDBOX_BROKEN, None)
    if broken is not None:
        facts["error"] = broken
    json_report["sandbox"] = facts


def pytest_configure(config: pytest.Config) -> None:
    PLUGIN_CONFIG["config"] = config


def pytest_report_header(config: pytest.Config) -> str | None:
    if not config.getoption("--sandbox"):
        return None
    from grader.sandbox.isolation import default_mode

    mode = config.getoption("--sandbox-isolation")
    return f"sandbox: {default_mode() if mode == 'auto' else mode} isolation (docs/security.md)"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    yield
    client = item.config.stash.get(SANDBOX, None)
    if client is not None:
        add_output_section(item, "call", client)


@pytest.hookimpl(hookwrapper=True)
def pytest_sessionfinish(session: pytest.Session) -> Any:
    # Before every other plugin's sessionfinish (pytest-json-report writes its report there):
    # no process of the submission outlives the tests.
    client = session.config.stash.get(SANDBOX, None)
    if client is not None:
        client.close()
    yield


@pytest.fixture
def ref(request: pytest.FixtureRequest) -> ModuleType:
    """The reference solution for this test file's exercise (instructor suites only)."""
    exercise = exercise_of(request.node)
    try:
        return load_exercise(kit_root() / "solutions", exercise)
    except ExerciseImportError as err:
        pytest.fail(f"reference unavailable: {err}", pytrace=False)


def cuda_present() -> bool:
    """Whether torch sees a GPU; asks torch only where a driver's device node exists."""
    if not any(Path("/dev").glob("nvidia[0-9]*")) and not os.environ.get("KIT_ASSUME_CUDA"):
        return False
    import torch

    return torch.cuda.is_available()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    gpu_items = [item for item in items if item.get_closest_marker("gpu")]
    if gpu_items and not cuda_present():
        skip = pytest.mark.skip(reason="needs a CUDA GPU")
        for item in gpu_items:
            item.add_marker(skip)


def manifest_entry(item: pytest.Item) -> dict[str, Any] | None:
    path = Path(item.path)
    exercise, visibility = exercise_of_test_file(path), visibility_of_test_file(path)
    if exercise is None or visibility is None:
        return None
    weight_marker = item.get_closest_marker("weight")
    weight = weight_marker.args[0] if weight_marker else 1
    if item.get_closest_marker("gpu"):
        weight = 0
    return {"id": item.nodeid, "exercise": exercise, "visibility": visibility, "weight": weight}


def pytest_collection_finish(session: pytest.Session) -> None:
    target = session.config.getoption("--write-manifest")
    if not target:
        return
    entries = [e for e in map(manifest_entry, session.items) if e is not None]
    Path(target).write_text(json.dumps(entries, indent=1) + "\n")
