"""`grade doctor`: the set-up check of the first lab.

Each check says what it found; a problem comes with the one command that fixes it.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

import grader
from grader.kit import EXERCISES, VISIBILITIES

INSTALL = 'pip install -e ".[dev]"'


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def python_check() -> Check:
    # pip refuses to install the kit on an older Python, so that case never reaches here.
    return Check("Python", True, ".".join(map(str, sys.version_info[:3])))


def package_check(label: str, distribution: str, module: str) -> Check:
    """Whether `module` imports, with its distribution's version (without importing it)."""
    if importlib.util.find_spec(module) is None:
        return Check(label, False, "not installed", INSTALL)
    try:
        return Check(label, True, importlib.metadata.version(distribution))
    except importlib.metadata.PackageNotFoundError:
        return Check(label, True, "installed")


def cuda_check() -> Check:
    """Whether PyTorch can run on a GPU here; having none is fine (GPU tests are worth 0)."""
    if importlib.util.find_spec("torch") is None:
        return Check("CUDA", False, "PyTorch is not installed", INSTALL)
    import torch

    driver_present = any(Path("/dev").glob("nvidia[0-9]*"))
    if not torch.cuda.is_available():
        if driver_present and torch.version.cuda is None:
            return Check("CUDA", False, "this machine has an NVIDIA GPU but PyTorch is a CPU build",
                         "install the CUDA build of PyTorch that matches your driver "
                         "(see pytorch.org)")
        return Check("CUDA", True, "no GPU: the GPU-only tests are skipped (worth 0 points)")
    try:
        (torch.ones(2, device="cuda") * 2).sum().item()
    except RuntimeError as err:
        return Check("CUDA", False, f"a GPU is present but unusable: {str(err).splitlines()[0]}",
                     "nvidia-smi  (to see what the driver reports)")
    return Check("CUDA", True, f"usable: {torch.cuda.get_device_name(0)}")


def cuda_in_worker(module: object) -> bool:
    """Scenario run in the sandbox's worker (doctor's `sandbox_check`): does it see a GPU?"""
    import torch

    return bool(torch.cuda.is_available())


def sandbox_check() -> Check:
    """Start a real sandbox, as grading does, and ask its worker whether it sees a GPU: it must
    answer as this process does, or the GPU tests would grade differently inside."""
    import tempfile

    from grader.sandbox.client import WorkerClient
    from grader.sandbox.errors import SandboxError
    from grader.sandbox.isolation import default_mode
    from grader.sandbox.remote import SandboxImpl

    mode = default_mode()
    with tempfile.TemporaryDirectory(prefix="grade-doctor-") as folder:
        (Path(folder) / "matmul.py").write_text("")
        client = WorkerClient(Path(folder), mode=mode)
        try:
            inside = SandboxImpl(client, "matmul").run(cuda_in_worker)
        except SandboxError as err:
            return Check("sandbox", False, f"{mode}: cannot start: {str(err).splitlines()[0]}",
                         "see docs/security.md; grade --isolation none runs without one")
        finally:
            client.close()
    import torch

    outside = torch.cuda.is_available()
    if inside != outside:
        return Check("sandbox", False, f"{mode}: the grader {'sees' if outside else 'does not see'}"
                     f" a GPU, the worker {'does' if inside else 'does not'}",
                     "the worker sees /usr, /lib, /etc and this Python's folders, and the "
                     "variables LD_LIBRARY_PATH, CUDA_VISIBLE_DEVICES, NVIDIA_*: put the GPU "
                     "driver's folder in LD_LIBRARY_PATH (docs/security.md)")
    return Check("sandbox", True, f"{mode}: the worker sees {'the' if inside else 'no'} GPU, "
                 "as the grader does")


def kit_checks(kit: Path) -> list[Check]:
    """The kit's version, and which exercises, suites, manifest and rubric are here."""
    checks = [Check("kit", True, f"dlkit {grader.__version__}")]
    instructor = (kit / "solutions").is_dir()
    missing = [e for e in EXERCISES if not (kit / "exercises" / f"{e}.py").is_file()]
    if missing:
        fix = "grade stubs" if instructor else f"git checkout -- exercises/{missing[0]}.py"
        checks.append(Check("exercises", False, f"missing {', '.join(missing)}", fix))
    else:
        checks.append(Check("exercises", True, "all present"))
    suites = {v: sorted((kit / "tests" / v).glob("test_*.py")) for v in VISIBILITIES}
    found = ", ".join(f"{len(files)} {v}" for v, files in suites.items() if files)
    checks.append(Check("suites", bool(suites["public"]), found or "none",
                        "" if suites["public"] else "git checkout -- tests/public"))
    if not suites["hidden"]:
        checks.append(Check("hidden tests", True, "not in this copy: your instructor runs them"))
    manifest_present = (kit / "tests" / "manifest.json").is_file()
    checks.append(Check("manifest", manifest_present, "present" if manifest_present else "missing",
                        "" if manifest_present else "grade manifest"))
    checks.append(rubric_check(kit))
    if instructor:
        from grader.authoring.stubs import stale_stubs

        stale = stale_stubs(kit / "solutions", kit / "exercises")
        checks.append(Check("stubs", not stale, f"stale: {', '.join(stale)}" if stale else
                            "match solutions/", "grade stubs" if stale else ""))
    return checks


def rubric_check(kit: Path) -> Check:
    from grader.grading.rubric import RUBRIC, RubricError, load_rubric

    try:
        rubric = load_rubric(kit / RUBRIC)
    except RubricError as err:
        return Check("rubric", False, str(err), "git checkout -- tests/rubric.toml")
    return Check("rubric", True, f"{rubric.total:g} points")


def run_checks(kit: Path) -> list[Check]:
    return [
        python_check(),
        package_check("NumPy", "numpy", "numpy"),
        package_check("PyTorch", "torch", "torch"),
        cuda_check(),
        package_check("pytest", "pytest", "pytest"),
        package_check("pytest-json-report", "pytest-json-report", "pytest_jsonreport"),
        sandbox_check(),
        *kit_checks(kit),
    ]
