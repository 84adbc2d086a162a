"""Scoring: a pytest-json-report report, the manifest and the rubric give a Result. Pure: no I/O.

A test t of exercise e is worth

    max_score(t) = points[e] * weight(t) / sum(weight(u) for every test u of e in the full manifest)

and scores max_score(t) when it passed, else 0. The report only says what happened; the
manifest says what should have happened, so a test missing from the report (the run crashed or
hit its time limit) scores 0, and a test the manifest does not know scores nothing.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from math import fsum
from typing import Any

from grader.grading.manifest import Manifest, ManifestTest
from grader.grading.results import GradedExercise, GradedTest, Result
from grader.grading.rubric import Rubric
from grader.sandbox.errors import (
    FAILURE_METADATA,
    InputModified,
    SandboxError,
    SubmissionTimeout,
)

DID_NOT_RUN = "did not run: the test run stopped before it (crash or time limit)"
DID_NOT_FINISH = "did not finish: the test run stopped during it (crash or time limit)"

# pytest-json-report's outcomes -> ours. xfail marks a test as not graded (yet): it counts as
# skipped whichever way it went.
PYTEST_OUTCOMES = {
    "passed": "passed",
    "failed": "failed",
    "error": "error",
    "skipped": "skipped",
    "xfailed": "skipped",
    "xpassed": "skipped",
}

# Exception names that add nothing for a student: the message itself is the teaching line.
QUIET_PREFIXES = ("AssertionError: ", "Failed: ")
# A sandbox failure reads as its message, named where the message alone does not say what went
# wrong (a timeout's or a crash's says it).
FAILURE_NAMES = {InputModified.kind: "InputModified: ", SandboxError.kind: "SandboxError: "}
MAX_MESSAGE = 500
MAX_DETAILS = 20_000
STAGES = ("setup", "call", "teardown")


class ReportError(Exception):
    """The file is not a pytest-json-report report; one line says why."""


def report_tests(report: Any) -> dict[str, dict[str, Any]]:
    """The report's test entries by node id.

    A node id reported twice (merged reports) keeps its worst entry: one failure is a failure.
    """
    tests = report.get("tests") if isinstance(report, dict) else None
    if not isinstance(tests, list):
        raise ReportError("not a pytest-json-report report (no list of tests)")
    by_id: dict[str, dict[str, Any]] = {}
    for entry in tests:
        if not (isinstance(entry, dict) and isinstance(entry.get("nodeid"), str)
                and isinstance(entry.get("outcome"), str)):
            raise ReportError(f"malformed test entry in the report: {entry!r:.120}")
        kept = by_id.get(entry["nodeid"])
        if kept is None or kept["outcome"] == "passed":
            by_id[entry["nodeid"]] = entry
    return by_id


def collection_errors(report: Mapping[str, Any]) -> dict[str, str]:
    """Suite file -> first line of why it failed to load, from the report's collectors."""
    errors = {}
    for collector in report.get("collectors") or []:
        if isinstance(collector, dict) and collector.get("outcome") == "failed":
            nodeid = str(collector.get("nodeid", ""))
            errors[nodeid.split("::", 1)[0]] = first_line(str(collector.get("longrepr", "")))
    return errors


def first_line(text: str) -> str:
    line = next((s.strip() for s in text.splitlines() if s.strip()), "")
    return line if len(line) <= MAX_MESSAGE else line[: MAX_MESSAGE - 3] + "..."


def teaching_line(crash_message: str) -> str:
    """The first line of a failure, without the exception names that add nothing."""
    line = first_line(crash_message)
    for prefix in QUIET_PREFIXES:
        line = line.removeprefix(prefix)
    return line


def skip_reason(longrepr: Any) -> str:
    """pytest stores a skip as the text of a tuple (path, line, "Skipped: why")."""
    try:
        value = ast.literal_eval(str(longrepr))
    except (ValueError, SyntaxError):
        return first_line(str(longrepr))
    reason = str(value[-1]) if isinstance(value, tuple) and value else str(value)
    return reason.removeprefix("Skipped: ")


def outcome_of(entry: Mapping[str, Any]) -> tuple[str, str, str]:
    """(outcome, message, details) of one test entry of a pytest-json-report report."""
    outcome = PYTEST_OUTCOMES.get(entry["outcome"], "error")
    if outcome == "passed":
        # pytest-json-report starts every entry as "passed": one interrupted after its setup
        # has no call stage, and has not passed.
        call = entry.get("call")
        if not (isinstance(call, dict) and call.get("outcome") == "passed"):
            return "error", DID_NOT_FINISH, ""
        return outcome, "", ""
    if outcome == "skipped":
        stage = stage_with(entry, "skipped")[1]
        return outcome, skip_reason(stage.get("longrepr", "")), ""
    when, stage = stage_with(entry, "failed")
    crash = stage["crash"] if isinstance(stage.get("crash"), dict) else {}
    details = str(stage.get("longrepr", ""))[:MAX_DETAILS]
    failure = sandbox_failure(entry, when)
    if failure is not None:
        kind, text = failure
        message = first_line(FAILURE_NAMES.get(kind, "") + text)
        if kind == SubmissionTimeout.kind:
            return "timeout", message or "timed out", details
        return outcome, message, details
    raw = str(crash.get("message") or details or f"the test ended with outcome {entry['outcome']}")
    return outcome, teaching_line(raw), details


def stage_with(entry: Mapping[str, Any], outcome: str) -> tuple[str, Mapping[str, Any]]:
    """(name, report) of the entry's first stage with that outcome; ("", {}) if none."""
    for when in STAGES:
        stage = entry.get(when)
        if isinstance(stage, dict) and stage.get("outcome") == outcome:
            return when, stage
    return "", {}


def sandbox_failure(entry: Mapping[str, Any], when: str) -> tuple[str, str] | None:
    """(kind, message) of the sandbox failure that grader.suites.plugin recorded for the stage
    `when` of the entry; None when it recorded none (the test failed otherwise). Its kind
    decides what the failure is, never its text."""
    metadata = entry.get("metadata")
    failures = metadata.get(FAILURE_METADATA) if isinstance(metadata, dict) else None
    failure = failures.get(when) if isinstance(failures, dict) else None
    if not (isinstance(failure, dict) and isinstance(failure.get("kind"), str)):
        return None
    return failure["kind"], str(failure.get("message", ""))


def failure_kinds(report: Mapping[str, Any]) -> dict[str, str]:
    """Node id -> the kind of sandbox failure its test ended with (grader.sandbox.errors), for
    each test of the report that ended with one."""
    kinds = {}
    for nodeid, entry in report_tests(report).items():
        failure = sandbox_failure(entry, stage_with(entry, "failed")[0])
        if failure is not None:
            kinds[nodeid] = failure[0]
    return kinds


def submission_output(entry: Mapping[str, Any]) -> str:
    """What the submission printed during the entry's failed stage (the plugin's metadata)."""
    metadata = entry.get("metadata")
    outputs = metadata.get("submission_output") if isinstance(metadata, dict) else None
    if not isinstance(outputs, dict):
        return ""
    return "\n".join(text for stage in STAGES if isinstance(text := outputs.get(stage), str))


def max_scores(tests: Iterable[ManifestTest], manifest: Manifest, rubric: Rubric) -> list[float]:
    """Each test's share of its exercise's points (unrounded)."""
    shares = []
    for test in tests:
        total = manifest.weight_totals.get(test.exercise, 0.0)
        points = rubric.points.get(test.exercise, 0.0)
        shares.append(points * test.weight / total if total > 0 else 0.0)
    return shares


def graded_test(
    test: ManifestTest,
    maximum: float,
    entries: Mapping[str, Mapping[str, Any]],
    unloadable: Mapping[str, str],
) -> tuple[GradedTest, float]:
    """One manifest test scored from its report entry (if any), and its unrounded score."""
    output = ""
    if test.id in entries:
        outcome, message, details = outcome_of(entries[test.id])
        if outcome != "passed":
            output = submission_output(entries[test.id])
    else:
        why = unloadable.get(test.file)
        outcome, details = "error", ""
        message = f"did not run: {test.file} failed to load: {why}" if why else DID_NOT_RUN
    raw = maximum if outcome == "passed" else 0.0
    graded = GradedTest(test.id, test.exercise, test.visibility, outcome, round(raw, 2),
                        round(maximum, 2), message, details, output)
    return graded, raw


def score_report(
    report: Mapping[str, Any],
    manifest: Manifest,
    rubric: Rubric,
    exercises: Iterable[str] | None = None,
) -> Result:
    """Score every manifest test of `exercises` (default: all) from the report's entries."""
    chosen = set(exercises) if exercises is not None else None
    expected = [t for t in manifest.tests if chosen is None or t.exercise in chosen]
    entries = report_tests(report)
    unloadable = collection_errors(report)
    maxima = max_scores(expected, manifest, rubric)
    scored = [graded_test(t, m, entries, unloadable) for t, m in zip(expected, maxima, strict=True)]
    raw = [score for _, score in scored]

    def subtotal(values: list[float], exercise: str | None = None) -> float:
        """Rounded once, from unrounded shares: the reference totals exactly its points."""
        return round(fsum(v for v, t in zip(values, expected, strict=True)
                          if exercise in (None, t.exercise)), 2)

    graded = [
        GradedExercise(name, subtotal(raw, name), subtotal(maxima, name))
        for name in rubric.points
        if any(t.exercise == name for t in expected)
    ]
    result = Result(subtotal(raw), subtotal(maxima), graded, [test for test, _ in scored])
    unknown = len(set(entries) - {t.id for t in manifest.tests + manifest.left_out})
    if unknown:
        result.notes.append(
            f"{unknown} test(s) of the report are not in the manifest and score nothing: "
            "an instructor runs `grade manifest` to add them"
        )
    return result
