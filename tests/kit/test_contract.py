"""Every rule of the exercise contract is enforced by a scored test, and every test's rules exist.

`tests/contract.toml` lists the contract's rules (id -> the rule's words). A suite test names the
rules it enforces with `@pytest.mark.rule("<id>", ...)`. The suites are read the way grading
reads them, by pytest's collection with the kit's plugin, so a parametrised test counts once per
case and its weight is the manifest's (a `gpu` test weighs 0). `contract_problems` is the check,
a pure function of the contract and the collected tests, so that the tests below can also show
it failing on a map with a test removed.
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader.kit import EXERCISES, kit_root
from grader.sandbox.runtime.loading import load_exercise

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: pytest depends on tomli there, so it is always installed with the kit.
    import tomli as tomllib

ROOT = kit_root()
CONTRACT = ROOT / "tests" / "contract.toml"
SUITES = ["tests/public", "tests/hidden"]

# Runs in a child pytest (a collection inside this test run would share its plugins and
# modules); prints one JSON list of the collected tests with their weight and rules.
COLLECT = """
import json, sys
import pytest
from grader.suites.plugin import manifest_entry

class Collect:
    def __init__(self):
        self.tests = []

    def pytest_collection_finish(self, session):
        for item in session.items:
            entry = manifest_entry(item) or {"weight": 0}
            rules = [rule for mark in item.iter_markers("rule") for rule in mark.args]
            self.tests.append({"id": item.nodeid, "weight": entry["weight"],
                               "gpu": item.get_closest_marker("gpu") is not None,
                               "rules": rules})

collect = Collect()
code = pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", *sys.argv[1:]],
                   plugins=[collect])
sys.__stdout__.write("\\n" + json.dumps({"exit_code": int(code), "tests": collect.tests}))
"""


@dataclass(frozen=True)
class CollectedTest:
    """One collected test case: its node id, weight in the manifest, and the rules it names."""

    id: str
    weight: float
    gpu: bool = False
    rules: tuple[str, ...] = ()

    @property
    def scored(self) -> bool:
        return self.weight > 0 and not self.gpu


@dataclass(frozen=True)
class Contract:
    rules: dict[str, str]
    gpu_only: dict[str, str] = field(default_factory=dict)
    kit_tests: dict[str, list[str]] = field(default_factory=dict)


def load_contract(path: Path = CONTRACT) -> Contract:
    data = tomllib.loads(path.read_text())
    return Contract(data["rules"], data.get("gpu_only", {}), data.get("kit_tests", {}))


def contract_problems(
    contract: Contract, tests: Iterable[CollectedTest], kit_test_ids: Iterable[str] = ()
) -> list[str]:
    """What keeps the contract from being traceable to the tests, one line each (none: ok)."""
    tests = list(tests)
    problems = []
    for test in tests:
        for rule in test.rules:
            if rule not in contract.rules:
                problems.append(f"{test.id} names rule {rule!r}, which tests/contract.toml does "
                                "not define (a typo, or a rule to add there)")
    for table in ("gpu_only", "kit_tests"):
        for rule in getattr(contract, table):
            if rule not in contract.rules:
                problems.append(f"[{table}] names rule {rule!r}, which [rules] does not define")
    # A parametrised kit test is named without its cases: any of them is the test.
    kit_test_ids = {test.split("[")[0] for test in kit_test_ids}
    for rule, words in contract.rules.items():
        if rule in contract.kit_tests:
            missing = [t for t in contract.kit_tests[rule] if t not in kit_test_ids]
            if missing or not contract.kit_tests[rule]:
                problems.append(f"rule {rule!r} is enforced by kit tests {missing or '(none)'}, "
                                "which do not exist")
            continue
        naming = [t for t in tests if rule in t.rules]
        if rule in contract.gpu_only:
            if not naming:
                problems.append(f"rule {rule!r} ({words}) has no test, not even a gpu one")
        elif not any(t.scored for t in naming):
            problems.append(
                f"rule {rule!r} ({words}) has no scored test: mark a test that enforces it with "
                f"@pytest.mark.rule({rule!r}) (its weight > 0, not gpu)"
                + (f"; only {[t.id for t in naming]}, which score nothing" if naming else "")
            )
    return problems


def collect(paths: list[str]) -> list[dict[str, Any]]:
    result = subprocess.run([sys.executable, "-c", COLLECT, *paths], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    report = json.loads(result.stdout.rsplit("\n", 1)[-1])
    assert report["exit_code"] == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return report["tests"]


@pytest.fixture(scope="module")
def contract() -> Contract:
    return load_contract()


@pytest.fixture(scope="module")
def suite_tests() -> list[CollectedTest]:
    return [CollectedTest(t["id"], t["weight"], t["gpu"], tuple(t["rules"]))
            for t in collect(SUITES)]


@pytest.fixture(scope="module")
def kit_test_ids(contract: Contract) -> set[str]:
    named = sorted({test.split("::")[0] for tests in contract.kit_tests.values()
                    for test in tests})
    return {t["id"] for t in collect(named)} if named else set()


def test_every_rule_has_a_scored_test_and_every_named_rule_exists(
    contract: Contract, suite_tests: list[CollectedTest], kit_test_ids: set[str]
) -> None:
    problems = contract_problems(contract, suite_tests, kit_test_ids)
    assert not problems, "\n".join(problems)


def test_rule_ids_are_well_formed(contract: Contract) -> None:
    owners = {*EXERCISES, "conventions"}
    bad = [rule for rule, words in contract.rules.items()
           if rule.split(".")[0] not in owners or len(rule.split(".")) < 2 or not words.strip()]
    assert not bad, f"rule ids start with an exercise or 'conventions' and have words: {bad}"


def test_removing_a_rules_only_scored_test_fails_the_check(
    contract: Contract, suite_tests: list[CollectedTest], kit_test_ids: set[str]
) -> None:
    # Every rule enforced by one scored test case: the map minus that case must be refused.
    only: dict[str, list[CollectedTest]] = {}
    for rule in contract.rules:
        if rule not in contract.gpu_only and rule not in contract.kit_tests:
            only[rule] = [t for t in suite_tests if rule in t.rules and t.scored]
    single = {rule: tests[0] for rule, tests in only.items() if len(tests) == 1}
    assert single, "no rule has exactly one scored test: this test would show nothing"
    for rule, test in single.items():
        rest = [t for t in suite_tests if t.id != test.id]
        problems = contract_problems(contract, rest, kit_test_ids)
        assert any(repr(rule) in p and "no scored test" in p for p in problems), (rule, test.id)


def test_a_rule_whose_tests_score_nothing_is_reported() -> None:
    contract = Contract({"losses.mse.formula": "mean of squares"})
    weightless = [CollectedTest("t::a", 0, rules=("losses.mse.formula",)),
                  CollectedTest("t::b", 2, gpu=True, rules=("losses.mse.formula",))]
    [problem] = contract_problems(contract, weightless)
    assert "no scored test" in problem and "t::a" in problem and "t::b" in problem
    assert not contract_problems(contract, [*weightless, CollectedTest("t::c", 1, rules=(
        "losses.mse.formula",))])


def test_a_test_naming_an_unknown_rule_is_reported() -> None:
    contract = Contract({"losses.mse.formula": "mean of squares"})
    tests = [CollectedTest("t::a", 1, rules=("losses.mse.formula", "losses.mse.fromula"))]
    [problem] = contract_problems(contract, tests)
    assert "t::a names rule 'losses.mse.fromula'" in problem


def test_gpu_only_and_kit_rules_need_their_own_evidence() -> None:
    contract = Contract({"matmul.x.gpu": "on a GPU", "conventions.stubs": "stub text"},
                        gpu_only={"matmul.x.gpu": "needs a GPU"},
                        kit_tests={"conventions.stubs": ["tests/kit/test_x.py::test_y"]})
    problems = contract_problems(contract, [])
    assert len(problems) == 2, problems
    gpu_test = CollectedTest("t::gpu", 0, gpu=True, rules=("matmul.x.gpu",))
    assert not contract_problems(contract, [gpu_test], {"tests/kit/test_x.py::test_y"})


# The stubs' side of the contract: a kit rule, since a finished submission has no stub left.

# How to build an instance of each stub class; a class missing here fails the test below, so
# that a new class gets its line.
STUB_INSTANCES = {
    "Perceptron": lambda module: module.Perceptron(2),
    "SGD": lambda module: module.SGD({"w": np.zeros(2)}, lr=0.1),
    "MLP": lambda module: module.MLP([2, 3]),
}


def unimplemented(module: Any) -> list[tuple[str, Any]]:
    """(qualified name, callable) of every function and method the stub leaves to the student."""
    found = []
    for name, value in vars(module).items():
        if getattr(value, "__module__", None) != module.__name__ or name.startswith("_"):
            continue
        if isinstance(value, type):
            assert value.__name__ in STUB_INSTANCES, f"add {value.__name__} to STUB_INSTANCES"
            instance = STUB_INSTANCES[value.__name__](module)
            found += [(f"{name}.{attr}", getattr(instance, attr)) for attr, member in
                      vars(value).items() if callable(member) and not attr.startswith("_")]
        elif callable(value):
            found.append((name, value))
    return found


@pytest.mark.parametrize("exercise", EXERCISES)
def test_stubs_raise_the_contracts_not_implemented_error(exercise: str) -> None:
    module = load_exercise(ROOT / "exercises", exercise)
    parts = unimplemented(module)
    assert parts, f"exercises/{exercise}.py leaves nothing to implement"
    for name, function in parts:
        n_args = sum(p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                     for p in inspect.signature(function).parameters.values())
        with pytest.raises(NotImplementedError) as raised:
            function(*[None] * n_args)  # a stub raises before it looks at its arguments
        assert str(raised.value) == f"{exercise}: {name} is not implemented yet", name
