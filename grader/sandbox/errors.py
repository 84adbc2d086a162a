"""The sandbox's failure kinds, as types: what a test fails with when the submission's process
misbehaves as a whole, or when the sandbox itself cannot start.

Each type carries `kind`, a stable name for its failure. grader.suites.plugin records the kind
of a test's failure (decided with isinstance, never from its message) in the test's report
entry, and the scorer and the batch read that field: moving or renaming a module here changes
no grade.
"""

from __future__ import annotations

from typing import ClassVar

from grader.sandbox.runtime.loading import ExerciseImportError

# The key of a pytest-json-report test entry's metadata where grader.suites.plugin records the
# failure each failed stage ended with: {stage: {"kind": its kind, "message": its text}}.
FAILURE_METADATA = "sandbox_failure"


class SubmissionFault(BaseException):
    """The submission's process misbehaved as a whole; the test in flight fails with this.

    A BaseException, like KeyboardInterrupt, so that no `except Exception` of a test or of
    grader.suites.checks turns it into a different failure (the scorer reads its kind). A fixture
    must not let one escape (pytest keeps no state for it): grader.suites.plugin turns it into a
    failure of the test's setup.
    """

    kind: ClassVar[str] = "fault"


class SubmissionTimeout(SubmissionFault):
    """A call ran past its time limit, or its exercise (or the whole submission) used up its
    time."""

    kind: ClassVar[str] = "timeout"


class SubmissionCrashed(SubmissionFault):
    """The submission's process died, or broke the channel, during a call."""

    kind: ClassVar[str] = "crashed"


class ObjectLost(SubmissionCrashed):
    """A test used an object of the submission's previous process, replaced after a crash or a
    timeout: a consequence of that failure (already recorded as such), not a crash of its own."""

    kind: ClassVar[str] = "object-lost"


class ImportCrashed(ExerciseImportError):
    """The submission's process died, or broke the channel, while it imported an exercise: the
    exercise fails to import (every test of it fails so), and the process crashed."""

    kind: ClassVar[str] = "crashed"


class InputModified(SubmissionFault):
    """A request changed, in place, an array the test gave it, or gave an earlier call.

    The contract: no function modifies its inputs, except `SGD.step`, which updates the `params`
    its instance was constructed with (grader.kit.UPDATES_IN_PLACE), and `numerical_gradient`,
    which perturbs `x` while it calls `f` and restores it. Were the change kept, a test that
    computes its expected value from the same array afterwards (`assert_close(impl.f(z),
    ref.f(z))`, or `p.fit(X, y)` then `assert_equal(p.predict(X), y)`, where `predict` could
    overwrite the `y` that `fit` kept) would compare with whatever the submission wrote there.
    The test's arrays are restored and the test fails.
    """

    kind: ClassVar[str] = "input-modified"


class SandboxError(RuntimeError):
    """The sandbox itself could not start (the grader's problem, not the submission's)."""

    kind: ClassVar[str] = "sandbox"


def failure_kind(err: BaseException) -> str | None:
    """The kind of a sandbox failure; None for any other exception (the submission's own, a
    test's assertion)."""
    if isinstance(err, (SubmissionFault, ImportCrashed, SandboxError)):
        return err.kind
    return None
