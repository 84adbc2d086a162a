"""Scoring a report against the manifest and the rubric: synthetic reports, no pytest run."""

from __future__ import annotations

from typing import Any

import pytest

from grader.grading.manifest import parse_manifest
from grader.grading.rubric import Rubric, RubricError, parse_rubric
from grader.grading.scoring import (
    DID_NOT_FINISH,
    DID_NOT_RUN,
    ReportError,
    failure_kinds,
    outcome_of,
    score_report,
)
from grader.kit import EXERCISES
from grader.sandbox.errors import FAILURE_METADATA

RUBRIC = Rubric({name: 0.0 for name in EXERCISES} | {"activations": 15.0, "losses": 20.0})
PUB, HID = "tests/public/test_activations.py", "tests/hidden/test_activations.py"
LOSSES = "tests/public/test_losses.py"


def manifest_of(*tests: tuple[str, str, float]) -> Any:
    return parse_manifest([
        {"id": nodeid, "exercise": exercise, "visibility": nodeid.split("/")[1], "weight": w}
        for nodeid, exercise, w in tests
    ])


MANIFEST = manifest_of(
    (f"{PUB}::test_a", "activations", 1),
    (f"{PUB}::test_b", "activations", 2),
    (f"{HID}::test_c", "activations", 3),
    (f"{HID}::test_gpu", "activations", 0),
    (f"{LOSSES}::test_x", "losses", 1),
    (f"{LOSSES}::test_y", "losses", 1),
    (f"{LOSSES}::test_z", "losses", 1),
)


def passed(nodeid: str) -> dict[str, Any]:
    ok = {"outcome": "passed"}
    return {"nodeid": nodeid, "outcome": "passed", "setup": ok, "call": ok, "teardown": ok}


def failed(nodeid: str, message: str, when: str = "call", longrepr: str = "") -> dict[str, Any]:
    stage = {"outcome": "failed", "crash": {"message": message, "path": "x.py", "lineno": 1},
             "longrepr": longrepr or f"E   {message}"}
    entry: dict[str, Any] = {"nodeid": nodeid, "setup": {"outcome": "passed"}, when: stage}
    entry["outcome"] = "failed" if when == "call" else "error"
    return entry


def skipped(nodeid: str, reason: str) -> dict[str, Any]:
    longrepr = repr(("x.py", 3, f"Skipped: {reason}"))
    return {"nodeid": nodeid, "outcome": "skipped",
            "setup": {"outcome": "skipped", "longrepr": longrepr}}


def report_of(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"tests": list(entries)}


def everything_passed() -> dict[str, Any]:
    return report_of(*(passed(t.id) for t in MANIFEST.tests))


def test_full_marks_when_everything_passes() -> None:
    result = score_report(everything_passed(), MANIFEST, RUBRIC)
    assert (result.score, result.max_score) == (35.0, 35.0)
    assert [(e.name, e.score, e.max_score) for e in result.exercises] == [
        ("activations", 15.0, 15.0), ("losses", 20.0, 20.0)
    ]
    assert all(t.outcome == "passed" and t.message == "" for t in result.tests)


def test_a_tests_share_is_its_weight_over_all_weights_of_its_exercise() -> None:
    result = score_report(everything_passed(), MANIFEST, RUBRIC)
    maxima = {t.id.split("::")[1]: t.max_score for t in result.tests}
    assert maxima == {"test_a": 2.5, "test_b": 5.0, "test_c": 7.5, "test_gpu": 0.0,
                      "test_x": 6.67, "test_y": 6.67, "test_z": 6.67}


def test_rounded_shares_still_total_exactly_the_exercise_points() -> None:
    # 20 / 3 per test: three rounded shares sum to 20.01, the exercise must show 20.0.
    result = score_report(everything_passed(), MANIFEST, RUBRIC)
    assert result.exercises[1].score == 20.0 and result.score == 35.0


def test_hidden_weights_count_even_where_hidden_suites_are_absent(tmp_path: Any) -> None:
    (tmp_path / "tests" / "public").mkdir(parents=True)
    for name in ("test_activations.py", "test_losses.py"):
        (tmp_path / "tests" / "public" / name).write_text("")
    present = MANIFEST.present_in(tmp_path)
    assert {t.visibility for t in present.tests} == {"public"}
    assert {t.id for t in present.left_out} == {f"{HID}::test_c", f"{HID}::test_gpu"}
    result = score_report(everything_passed(), present, RUBRIC)
    assert result.exercises[0].max_score == 7.5  # test_a + test_b of 15 points, hidden not run


def test_a_test_missing_from_the_report_scores_zero_and_says_it_did_not_run() -> None:
    report = report_of(*(passed(t.id) for t in MANIFEST.tests if not t.id.endswith("test_y")))
    result = score_report(report, MANIFEST, RUBRIC)
    missing = next(t for t in result.tests if t.id.endswith("test_y"))
    assert (missing.outcome, missing.score, missing.message) == ("error", 0.0, DID_NOT_RUN)
    assert result.exercises[1].score == pytest.approx(13.33)


def test_an_empty_report_scores_zero_over_the_whole_manifest() -> None:
    result = score_report(report_of(), MANIFEST, RUBRIC)
    assert (result.score, result.max_score) == (0.0, 35.0)
    assert {t.outcome for t in result.tests} == {"error"}


def test_a_test_the_manifest_does_not_know_scores_nothing_and_is_not_listed() -> None:
    report = report_of(*everything_passed()["tests"], passed(f"{PUB}::test_injected"))
    result = score_report(report, MANIFEST, RUBRIC)
    assert result.score == 35.0
    assert all("injected" not in t.id for t in result.tests)
    assert any("not in the manifest" in note for note in result.notes)


def test_an_entry_interrupted_after_setup_has_not_passed() -> None:
    # pytest-json-report starts each entry as "passed"; a run killed mid-test leaves only setup.
    entry = {"nodeid": f"{PUB}::test_a", "outcome": "passed", "setup": {"outcome": "passed"}}
    assert outcome_of(entry) == ("error", DID_NOT_FINISH, "")


def test_a_failure_keeps_the_teaching_line_and_the_full_report() -> None:
    entry = failed(f"{PUB}::test_a", "AssertionError: sigmoid(z) is wrong; hint\nmore",
                   longrepr="long report")
    assert outcome_of(entry) == ("failed", "sigmoid(z) is wrong; hint", "long report")


def test_what_a_failed_test_printed_is_kept_and_a_passed_ones_is_not() -> None:
    printed = {"metadata": {"submission_output": {"call": "debug 1\ndebug 2"}}}
    report = report_of(failed(f"{PUB}::test_a", "AssertionError: wrong") | printed,
                       passed(f"{PUB}::test_b") | printed,
                       failed(f"{HID}::test_c", "AssertionError: wrong") | {"metadata": "junk"})
    tests = {t.id: t for t in score_report(report, MANIFEST, RUBRIC).tests}
    assert tests[f"{PUB}::test_a"].output == "debug 1\ndebug 2"
    assert tests[f"{PUB}::test_b"].output == tests[f"{HID}::test_c"].output == ""


def test_a_student_exception_keeps_its_name() -> None:
    message = "NotImplementedError: activations: relu is not implemented yet"
    assert outcome_of(failed(f"{PUB}::test_a", message))[:2] == ("failed", message)


def test_a_setup_error_such_as_a_missing_file_is_an_error() -> None:
    entry = failed(f"{PUB}::test_a", "Failed: activations.py is missing from submission/",
                   when="setup")
    assert outcome_of(entry)[:2] == ("error", "activations.py is missing from submission/")


def with_failure(entry: dict[str, Any], kind: str, message: str,
                 when: str = "call") -> dict[str, Any]:
    """The entry with the sandbox failure grader.suites.plugin records for its failed stage."""
    metadata = {FAILURE_METADATA: {when: {"kind": kind, "message": message}}}
    return entry | {"metadata": metadata}


# However the exception's type is named in the failure's text (its module moved, renamed, or a
# test file's own class of that name), the recorded kind decides, and the message is the same.
NAMES = ["SubmissionTimeout", "grader.sandbox.errors.SubmissionTimeout",
         "grader.sandbox.client.SubmissionTimeout", "grader.somewhere.else.Renamed",
         "test_losses.SubmissionTimeout"]


@pytest.mark.parametrize("name", NAMES)
def test_a_recorded_timeout_is_a_timeout_whatever_its_text(name: str) -> None:
    message = "activations.sigmoid(...) did not finish within 10 s (an endless loop?)"
    entry = with_failure(failed(f"{PUB}::test_a", f"{name}: {message}"), "timeout", message)
    assert outcome_of(entry)[:2] == ("timeout", message)


def test_a_timeout_at_import_is_recorded_for_the_setup() -> None:
    message = "the import of activations.py did not finish within 2 s (an endless loop?)"
    entry = failed(f"{PUB}::test_a", f"Failed: SubmissionTimeout: {message}", when="setup")
    assert outcome_of(with_failure(entry, "timeout", message, "setup"))[:2] == ("timeout",
                                                                                 message)
    # A failure recorded for another stage says nothing of this one.
    assert outcome_of(with_failure(entry, "timeout", message, "call"))[0] == "error"


@pytest.mark.parametrize("name", [*NAMES, "grader.sandbox.client.SubmissionCrashed"])
def test_a_recorded_crash_reads_as_its_message_whatever_its_text(name: str) -> None:
    message = "the submission's process died (exit code 3) during Perceptron.fit(...)"
    entry = with_failure(failed(f"{PUB}::test_a", f"{name}: {message}"), "crashed", message)
    assert outcome_of(entry)[:2] == ("failed", message)


@pytest.mark.parametrize("name", NAMES)
def test_a_changed_input_is_named_whatever_its_text(name: str) -> None:
    message = "activations.relu(...) changed an array it was given, in place"
    entry = with_failure(failed(f"{PUB}::test_a", f"{name}: {message}"), "input-modified",
                         message)
    assert outcome_of(entry)[:2] == ("failed", f"InputModified: {message}")


@pytest.mark.parametrize("text", [
    "grader.sandbox.errors.SubmissionTimeout: sigmoid took longer than 10 s",
    "grader.sandbox.client.SubmissionTimeout: sigmoid took longer than 10 s",
    "Failed: SubmissionTimeout: the import of activations.py did not finish within 2 s",
    "ValueError: SubmissionTimeout is not a real one",
])
def test_a_failure_that_looks_like_a_timeout_without_the_field_is_a_plain_failure(
    text: str,
) -> None:
    entry = failed(f"{PUB}::test_a", text)
    assert outcome_of(entry)[:2] == ("failed", text.removeprefix("Failed: "))


def test_failure_kinds_are_read_from_the_field_only() -> None:
    crashed = "the submission's process was killed by SIGSEGV during step"
    report = report_of(
        with_failure(failed(f"{LOSSES}::test_x", crashed), "crashed", crashed),
        failed(f"{LOSSES}::test_y", f"grader.sandbox.errors.SubmissionCrashed: {crashed}"),
        with_failure(failed(f"{LOSSES}::test_z", "x", when="setup"), "timeout", "x", "setup"),
        passed(f"{PUB}::test_a"),
    )
    assert failure_kinds(report) == {f"{LOSSES}::test_x": "crashed",
                                     f"{LOSSES}::test_z": "timeout"}


def test_a_skipped_test_scores_zero_with_its_reason() -> None:
    entries = everything_passed()["tests"]
    report = report_of(*entries[:3], skipped(f"{HID}::test_gpu", "needs a GPU"), *entries[4:])
    result = score_report(report, MANIFEST, RUBRIC)
    gpu = next(t for t in result.tests if t.id.endswith("test_gpu"))
    assert (gpu.outcome, gpu.score, gpu.max_score, gpu.message) == ("skipped", 0.0, 0.0,
                                                                    "needs a GPU")
    assert result.score == 35.0


def test_a_node_reported_twice_keeps_its_failure() -> None:
    nodeid = f"{LOSSES}::test_x"
    for order in ([passed(nodeid), failed(nodeid, "x")], [failed(nodeid, "x"), passed(nodeid)]):
        result = score_report(report_of(*order), MANIFEST, RUBRIC, ["losses"])
        assert result.tests[0].outcome == "failed"


def test_a_suite_file_that_failed_to_load_is_named_in_its_tests_messages() -> None:
    report = {"tests": [], "collectors": [
        {"nodeid": LOSSES, "outcome": "failed", "longrepr": "SyntaxError: invalid syntax"}
    ]}
    result = score_report(report, MANIFEST, RUBRIC, ["losses"])
    assert result.tests[0].message == (
        f"did not run: {LOSSES} failed to load: SyntaxError: invalid syntax"
    )


def test_exercises_restricts_the_result() -> None:
    result = score_report(everything_passed(), MANIFEST, RUBRIC, ["losses"])
    assert [e.name for e in result.exercises] == ["losses"]
    assert {t.exercise for t in result.tests} == {"losses"}
    assert (result.score, result.max_score) == (20.0, 20.0)


def test_a_very_long_message_is_cut_to_one_short_line() -> None:
    entry = failed(f"{PUB}::test_a", "ValueError: " + "x" * 5000)
    assert len(outcome_of(entry)[1]) <= 500


@pytest.mark.parametrize("report", [[], {"tests": 3}, {"tests": [{"outcome": "passed"}]}, None])
def test_a_malformed_report_is_refused(report: Any) -> None:
    with pytest.raises(ReportError):
        score_report(report, MANIFEST, RUBRIC)


@pytest.mark.parametrize(
    "data",
    [{}, {"points": {"activations": 15}}, {"points": {**dict.fromkeys(EXERCISES, 1), "extra": 1}},
     {"points": {**dict.fromkeys(EXERCISES, 1), "losses": -1}},
     {"points": {**dict.fromkeys(EXERCISES, 1), "losses": "ten"}}],
    ids=["no-points", "missing-exercises", "unknown-exercise", "negative", "not-a-number"],
)
def test_a_malformed_rubric_is_refused(data: dict[str, Any]) -> None:
    with pytest.raises(RubricError):
        parse_rubric(data)


def test_the_kits_rubric_totals_100() -> None:
    from grader.grading.rubric import RUBRIC as RUBRIC_PATH
    from grader.grading.rubric import load_rubric
    from grader.kit import kit_root

    assert load_rubric(kit_root() / RUBRIC_PATH).total == 100
