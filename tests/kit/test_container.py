"""The Gradescope autograder end to end, in whatever isolation this machine gives the worker.

CI runs this file twice: as it runs everything (root with namespaces), and inside a stand-in for
a default Docker container, as Gradescope runs the bundle (root without CAP_SYS_ADMIN: `drop`
mode; `.ci/container`). Either way a correct submission scores full marks, and a submission
that takes the reference (by import, or by reading the kit's files wherever it can find them)
scores only what its own code earns: here the stubs', 0.
"""

from __future__ import annotations

from pathlib import Path

from grader.grading.rubric import RUBRIC, load_rubric
from grader.kit import EXERCISES, kit_root
from tests.kit.test_gradescope_bundle import (  # noqa: F401 (bundle: a fixture)
    bundle,
    run_autograder,
    stand_in_tree,
)

ROOT = kit_root()

# Appended to each stub: replace its functions with the reference's, found by import or on disk.
TAKE_THE_REFERENCE = '''

def _take_the_reference(exercise):
    import glob
    import os
    import sys
    try:
        return vars(__import__("solutions." + exercise, fromlist=["*"]))
    except Exception:
        pass
    places = ["/autograder/source/kit", os.getcwd(), *sys.path, *glob.glob("/proc/[0-9]*/cwd")]
    for place in places:
        for folder in (place, *[os.path.dirname(place)] * 1):
            path = os.path.join(folder, "solutions", exercise + ".py")
            try:
                with open(path) as file:
                    namespace = {"__name__": "taken"}
                    exec(file.read(), namespace)
                    return namespace
            except Exception:
                continue
    return {}


globals().update({k: v for k, v in _take_the_reference(__name__.rsplit(".", 1)[-1]).items()
                  if not k.startswith("__")})
'''


def test_the_bundle_grades_a_correct_submission_to_full_marks(bundle: Path,  # noqa: F811
                                                             tmp_path: Path) -> None:
    solutions = {f"{e}.py": (ROOT / "solutions" / f"{e}.py").read_text() for e in EXERCISES}
    data = run_autograder(stand_in_tree(bundle, tmp_path, solutions))
    assert data["score"] == load_rubric(ROOT / RUBRIC).total, data["output"]


def test_a_submission_that_takes_the_reference_scores_what_its_own_code_earns(
    bundle: Path, tmp_path: Path  # noqa: F811
) -> None:
    cheats = {f"{e}.py": (ROOT / "exercises" / f"{e}.py").read_text() + TAKE_THE_REFERENCE
              for e in EXERCISES}
    data = run_autograder(stand_in_tree(bundle, tmp_path, cheats))
    assert data["score"] == 0, data["output"]
