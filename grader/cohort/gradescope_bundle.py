"""A Gradescope autograder for the kit: the bundle, and what its `run_autograder` runs.

Gradescope unpacks the bundle into /autograder/source, runs `setup.sh` once to build the
image, then for each submission puts the student's files in /autograder/submission, runs
/autograder/run_autograder and reads /autograder/results/results.json. The bundle:

    setup.sh          installs Python, a virtual environment and the kit (numpy, torch, ...),
                      PyTorch's CPU build, every package at its version in constraints.txt
    constraints.txt   `==` pins of the kit's dependencies and theirs, as installed where the
                      bundle was built: every build of the image grades with the same packages
    run_autograder    runs `python -m grader.cohort.gradescope_bundle /autograder` in the kit
    kit/              the kit: grader/, solutions/, tests/public, tests/hidden, manifest, rubric

`AUTOGRADER_ROOT` (default /autograder) and `KIT_PYTHON` (default the image's venv python)
let a test run the same `run_autograder` against a stand-in folder tree.
"""

from __future__ import annotations

import json
import platform
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from grader.kit import EXERCISES, kit_root

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: pytest depends on tomli there, so it is always installed with the kit.
    import tomli as tomllib

# What the autograder needs of the kit (no kit tests, no stubs, no notebooks).
KIT_PARTS = ("pyproject.toml", "README.md", "LICENSE", "grader", "solutions",
             "tests/public", "tests/hidden", "tests/manifest.json", "tests/rubric.toml")

# PyTorch's index of CPU-only wheels: Gradescope's machines have no GPU, and the default build of
# torch for Linux brings several GB of CUDA libraries.
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
CONSTRAINTS = "constraints.txt"

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, building the autograder's image (Ubuntu): Python, a virtual
# environment, and the kit with its dependencies (numpy, torch, pytest, ...), each at the
# version pinned in constraints.txt, torch in its CPU build from PyTorch's index.
set -euo pipefail
SOURCE="$(cd "$(dirname "$0")" && pwd)"
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends python3 python3-venv python3-pip
# The pins were made on one Python version; another one may lack a wheel for some of them.
have="$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
if [ "$have" != "{python}" ]; then
  echo "warning: $SOURCE/{constraints} was made with Python {python}, this image has $have:" \\
       "if pip finds no version for a pin, build the bundle with Python $have" >&2
fi
python3 -m venv "$ROOT/venv"
"$ROOT/venv/bin/python" -m pip install -q --upgrade pip
# The default index for every package, PyTorch's as well for torch: the pin of torch names its
# CPU build, which only PyTorch's index has.
"$ROOT/venv/bin/python" -m pip install -q -c "$SOURCE/{constraints}" \\
    --extra-index-url "{torch_index}" -e "$SOURCE/kit"
"$ROOT/venv/bin/python" -c "import numpy, torch, pytest, nbformat, click; print('kit ready')"
# Gradescope's container has no CAP_SYS_ADMIN: the worker runs in `drop` mode, as a user id of
# its own. It must be able to run this Python, whatever the image's umask; the kit's private
# folders it must not read (grade makes sure of that too: docs/security.md).
chmod -R a+rX "$ROOT/venv"
chmod o-rwx "$SOURCE/kit/solutions" "$SOURCE/kit/tests"
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for each submission: grade $ROOT/submission and write
# $ROOT/results/results.json. Everything else happens in grader/cohort/gradescope_bundle.py.
set -u
ROOT="${AUTOGRADER_ROOT:-/autograder}"
cd "$ROOT/source/kit"
exec "${KIT_PYTHON:-$ROOT/venv/bin/python}" -m grader.cohort.gradescope_bundle "$ROOT"
"""


class BundleError(Exception):
    """The bundle cannot be built (no hidden suites, no manifest); one line says why."""


# --- building the bundle -----------------------------------------------------------------------


def kit_files(kit: Path) -> Iterator[tuple[Path, str]]:
    """(file, name in the bundle) for each file the autograder needs, under `kit/`."""
    for part in KIT_PARTS:
        base = kit / part
        paths = [base] if base.is_file() else sorted(base.rglob("*")) if base.is_dir() else []
        for path in paths:
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                yield path, f"kit/{path.relative_to(kit).as_posix()}"


def setup_script(torch_index: str = TORCH_CPU_INDEX) -> str:
    """setup.sh; torch comes from `torch_index`, PyTorch's CPU wheels or a mirror of them."""
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    return SETUP_SH.format(torch_index=torch_index, python=python, constraints=CONSTRAINTS)


def kit_dependencies(kit: Path) -> list[str]:
    """The `dependencies` of the kit's pyproject.toml: what setup.sh's `pip install` starts from."""
    try:
        return list(tomllib.loads((kit / "pyproject.toml").read_text())["project"]["dependencies"])
    except (OSError, KeyError, tomllib.TOMLDecodeError) as err:
        raise BundleError(f"cannot read the dependencies in {kit / 'pyproject.toml'}: "
                          f"{err}") from None


def installed_versions(requirements: Iterable[str]) -> dict[str, str]:
    """{name: version} installed here of `requirements` and everything they require, following
    each package's requirements whose markers hold here (extras included when asked for)."""
    # packaging reads requirements as pip does; pytest depends on it, so it comes with the kit.
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    versions: dict[str, str] = {}
    done: set[tuple[str, str]] = set()  # (package, extra): an extra may add requirements later
    todo = [Requirement(r) for r in requirements]
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        new = {(name, canonicalize_name(e)) for e in requirement.extras} | {(name, "")}
        new -= done
        if not new:
            continue
        try:
            dist = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            raise BundleError(f"{requirement.name} is not installed here, so its version "
                              "cannot be pinned: install the kit first") from None
        versions[name] = dist.version
        done |= new
        for _, extra in new:
            for line in dist.requires or []:
                needed = Requirement(line)
                if needed.marker is None or needed.marker.evaluate({"extra": extra}):
                    todo.append(needed)
    return versions


def constraints_text(kit: Path) -> str:
    """constraints.txt: an `==` pin of each package the kit needs, as installed here.

    torch's pin names its CPU build (`+cpu`) whichever build is installed here: the release is
    the one the kit was tested with, and Gradescope has no GPU.
    """
    from packaging.version import Version

    versions = installed_versions(kit_dependencies(kit))
    versions["torch"] = f"{Version(versions['torch']).public}+cpu"
    header = (
        "# The versions the kit was tested with: those installed where `grade gradescope-bundle`\n"
        f"# built this bundle, with Python {platform.python_version()} on {platform.system()} "
        f"{platform.machine()}.\n"
        "# setup.sh installs the kit with `pip install -c` this file (a constraint installs\n"
        "# nothing by itself: it fixes the version of what the kit requires).\n"
    )
    return header + "".join(f"{name}=={version}\n" for name, version in sorted(versions.items()))


def build_bundle(kit: Path, out: Path, torch_index: str = TORCH_CPU_INDEX) -> list[str]:
    """Write the autograder zip to `out`; returns the names it holds."""
    for needed in ("tests/hidden", "tests/manifest.json", "solutions"):
        if not (kit / needed).exists():
            raise BundleError(f"this copy of the kit has no {needed}: bundle from the "
                              "instructor's checkout")
    constraints = constraints_text(kit)
    out.parent.mkdir(parents=True, exist_ok=True)
    names = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text, mode in (("setup.sh", setup_script(torch_index), 0o755),
                                 ("run_autograder", RUN_AUTOGRADER, 0o755),
                                 (CONSTRAINTS, constraints, 0o644)):
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.external_attr = (0o100000 | mode) << 16  # the scripts executable: Gradescope
            info.compress_type = zipfile.ZIP_DEFLATED     # runs them directly
            archive.writestr(info, text)
            names.append(name)
        for path, name in kit_files(kit):
            archive.write(path, name)
            names.append(name)
    return names


# --- inside the container: grading one submission ----------------------------------------------


def pick_submission(folder: Path) -> Path:
    """What to stage among the files a student uploaded to `folder`.

    The folder itself when it holds exercise files or exercises/; else its only notebook or
    zip; else its only subfolder (an upload unpacked into one folder); else the folder, which
    staging then refuses with its reason.
    """
    children = [p for p in folder.iterdir() if not p.name.startswith(".")]
    if (folder / "exercises").is_dir() or any((folder / f"{e}.py").exists() for e in EXERCISES):
        return folder
    for suffix in (".ipynb", ".zip"):
        found = [p for p in children if p.suffix.lower() == suffix and p.is_file()]
        if len(found) == 1:
            return found[0]
    folders = [p for p in children if p.is_dir() and p.name != "__MACOSX"]
    return folders[0] if len(folders) == 1 else folder


def refusal_results(message: str, seconds: float) -> dict[str, Any]:
    return {"score": 0.0, "execution_time": round(seconds), "output": message,
            "visibility": "visible", "stdout_visibility": "hidden", "tests": []}


def autograde(root: Path, kit: Path) -> dict[str, Any]:
    """Grade `root/submission` with the kit; Gradescope's results.json as data."""
    from grader.grading.formats import gradescope_json
    from grader.grading.pipeline import grade_submission, load_setup
    from grader.grading.submission import SubmissionError, stage_submission

    started = time.monotonic()
    setup = load_setup(kit, details=True)  # Gradescope shows public tests' tracebacks
    with tempfile.TemporaryDirectory(prefix="grade-gradescope-") as tmp:
        try:
            staged = stage_submission(pick_submission(root / "submission"), Path(tmp) / "staged")
        except SubmissionError as err:
            seconds = time.monotonic() - started
            return refusal_results(f"Your submission was refused: {err}", seconds)
        result = grade_submission(setup, staged).result
    result.seconds = time.monotonic() - started
    data = gradescope_json(result)
    if result.notes:
        data["output"] += "\n\n" + "\n".join(result.notes)
    return data


def main(argv: list[str]) -> int:
    """`python -m grader.cohort.gradescope_bundle ROOT`: a results.json behind, unless the
    grader could not grade here (GraderError): then no results at all, so that Gradescope shows
    the submission as failed to autograde, never a score of 0 (exit status 2, one line)."""
    from grader.grading.pipeline import GraderError

    root = Path(argv[1] if len(argv) > 1 else "/autograder")
    started = time.monotonic()
    try:
        data = autograde(root, kit_root())  # the bundle's own copy of the kit
    except GraderError as err:
        print(f"The autograder cannot grade on this machine: {err}", file=sys.stderr)
        return 2
    except Exception as err:  # Gradescope shows this output; a traceback helps nobody there
        data = refusal_results(f"The autograder failed ({type(err).__name__}: {err}); "
                               "tell your instructor.", time.monotonic() - started)
    results = root / "results" / "results.json"
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(data, indent=2) + "\n")
    print(data["output"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
