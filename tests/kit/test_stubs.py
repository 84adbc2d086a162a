"""The checked-in stubs are exactly what generation gives, and each one teaches nothing away."""

from __future__ import annotations

import pytest

from grader.authoring.stubs import FenceError, make_stub, stale_stubs
from grader.kit import EXERCISES, kit_root

ROOT = kit_root()


def test_checked_in_stubs_match_generation() -> None:
    stale = stale_stubs(ROOT / "solutions", ROOT / "exercises")
    assert not stale, f"stale stubs {stale}: run `grade stubs` to regenerate exercises/"


@pytest.mark.parametrize("exercise", EXERCISES)
def test_stub_keeps_no_solution(exercise: str) -> None:
    stub = (ROOT / "exercises" / f"{exercise}.py").read_text()
    assert "BEGIN SOLUTION" not in stub and "END SOLUTION" not in stub
    assert f'NotImplementedError("{exercise}: ' in stub


def test_fence_becomes_not_implemented_with_qualified_name() -> None:
    source = (
        "class P:\n"
        "    def fit(self):\n"
        '        """Doc."""\n'
        "        # BEGIN SOLUTION\n"
        "        return 1\n"
        "        # END SOLUTION\n"
    )
    stub = make_stub(source, "perceptron")
    assert stub == (
        "class P:\n"
        "    def fit(self):\n"
        '        """Doc."""\n'
        '        raise NotImplementedError("perceptron: P.fit is not implemented yet")\n'
    )


@pytest.mark.parametrize(
    "source",
    [
        "def f():\n    # BEGIN SOLUTION\n    return 1\n",
        "def f():\n    return 1\n    # END SOLUTION\n",
        "# BEGIN SOLUTION\nx = 1\n# END SOLUTION\n",
        "def f():\n    return 1\n",
    ],
    ids=["unclosed", "unopened", "outside-function", "no-fence"],
)
def test_malformed_fences_are_refused(source: str) -> None:
    with pytest.raises(FenceError):
        make_stub(source, "activations")
