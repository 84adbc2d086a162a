"""The outputs are valid: the contract's result JSON and Gradescope's results.json, by schema.

jsonschema comes with nbformat (a dependency of the kit), so validating costs no extra install.
"""

from __future__ import annotations

import click
import jsonschema
import pytest

from grader.grading.formats import (
    OUTPUT_CHARS,
    OUTPUT_LINES,
    gradescope_json,
    output_lines,
    printable,
    result_json,
    text_report,
)
from grader.grading.results import OUTCOMES, GradedExercise, GradedTest, Result

NUMBER = {"type": "number"}
STRING = {"type": "string"}

# The contract's "Result JSON", exactly: no key more, no key less.
RESULT_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["score", "max_score", "exercises", "tests"],
    "properties": {
        "score": NUMBER,
        "max_score": NUMBER,
        "exercises": {"type": "array", "items": {
            "type": "object", "additionalProperties": False,
            "required": ["name", "score", "max_score"],
            "properties": {"name": STRING, "score": NUMBER, "max_score": NUMBER},
        }},
        "tests": {"type": "array", "items": {
            "type": "object", "additionalProperties": False,
            "required": [
                "id", "exercise", "visibility", "outcome", "score", "max_score", "message"
            ],
            "properties": {
                "id": STRING, "exercise": STRING, "message": STRING,
                "visibility": {"enum": ["public", "hidden"]},
                "outcome": {"enum": list(OUTCOMES)},
                "score": NUMBER, "max_score": NUMBER,
            },
        }},
    },
}

# Gradescope's autograder specification of results.json (the fields it defines; we use a subset).
VISIBILITY = {"enum": ["hidden", "after_due_date", "after_published", "visible"]}
FORMAT = {"enum": ["text", "html", "simple_format", "md", "ansi"]}
GRADESCOPE_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "anyOf": [{"required": ["score"]}, {"required": ["tests"]}],
    "properties": {
        "score": NUMBER,
        "execution_time": NUMBER,
        "output": STRING,
        "output_format": FORMAT,
        "test_output_format": FORMAT,
        "test_name_format": FORMAT,
        "visibility": VISIBILITY,
        "stdout_visibility": VISIBILITY,
        "extra_data": {"type": "object"},
        "tests": {"type": "array", "items": {
            "type": "object", "additionalProperties": False,
            "properties": {
                "score": NUMBER, "max_score": NUMBER,
                "status": {"enum": ["passed", "failed"]},
                "name": STRING, "name_format": FORMAT, "number": STRING,
                "output": STRING, "output_format": FORMAT,
                "tags": {"type": "array", "items": STRING},
                "visibility": VISIBILITY, "extra_data": {"type": "object"},
            },
        }},
        "leaderboard": {"type": "array"},
    },
}

PUB, HID = "tests/public/test_losses.py", "tests/hidden/test_losses.py"


def sample_result() -> Result:
    tests = [
        GradedTest(f"{PUB}::test_mse", "losses", "public", "passed", 5.0, 5.0),
        GradedTest(f"{PUB}::test_grad[0]", "losses", "public", "failed", 0.0, 2.5,
                   "NotImplementedError: losses: mse_grad is not implemented yet", "trace 0"),
        GradedTest(f"{PUB}::test_grad[1]", "losses", "public", "failed", 0.0, 2.5,
                   "NotImplementedError: losses: mse_grad is not implemented yet", "trace 1"),
        GradedTest(f"{HID}::test_ce", "losses", "hidden", "timeout", 0.0, 10.0,
                   "cross_entropy took longer than 10 s", "hidden source here"),
        GradedTest(f"{HID}::test_gpu", "losses", "hidden", "skipped", 0.0, 0.0, "needs a CUDA GPU"),
    ]
    return Result(5.0, 20.0, [GradedExercise("losses", 5.0, 20.0)], tests, seconds=2.6,
                  notes=["a note for the reader"])


def test_result_json_has_exactly_the_contract_schema() -> None:
    data = result_json(sample_result())
    jsonschema.validate(data, RESULT_SCHEMA)
    assert data["tests"][3]["outcome"] == "timeout"


def test_gradescope_results_follow_its_specification() -> None:
    data = gradescope_json(sample_result())
    jsonschema.validate(data, GRADESCOPE_SCHEMA)
    assert data["score"] == 5.0 and data["execution_time"] == 3


def test_gradescope_shows_hidden_tests_only_once_grades_are_published() -> None:
    tests = {t["name"]: t for t in gradescope_json(sample_result())["tests"]}
    assert tests[f"{PUB}::test_mse"]["visibility"] == "visible"
    hidden = tests[f"{HID}::test_ce"]
    assert hidden["visibility"] == "after_published" and hidden["status"] == "failed"
    assert "hidden source" not in hidden["output"]  # a hidden test's report would show its code
    assert tests[f"{PUB}::test_grad[0]"]["output"].endswith("trace 0")


def test_gradescope_leaves_out_skipped_tests_worth_nothing() -> None:
    names = [t["name"] for t in gradescope_json(sample_result())["tests"]]
    assert f"{HID}::test_gpu" not in names and len(names) == 4


def test_gradescope_summary_counts_public_points_only() -> None:
    output = gradescope_json(sample_result())["output"]
    assert output.startswith("Public tests: 5.00 / 10.00 points.")
    assert "Hidden tests (2, 10.00 points)" in output


def plain(text: str) -> list[str]:
    return click.unstyle(text).splitlines()


def test_text_report_shows_points_then_one_line_per_kind_of_failure() -> None:
    lines = plain(text_report(sample_result()))
    assert lines[1].split() == ["losses", "5.00", "/", "20.00"]
    assert lines[2].split() == ["total", "5.00", "/", "20.00"]
    failures = [line.strip() for line in lines if line.startswith("  ")]
    assert failures == [
        f"FAIL    {PUB}::test_grad[0] (and 1 more like it): "
        "NotImplementedError: losses: mse_grad is not implemented yet",
        f"TIMEOUT {HID}::test_ce: cross_entropy took longer than 10 s",
    ]
    assert lines[-1] == "a note for the reader"


def test_verbose_text_report_shows_every_failure_in_full() -> None:
    text = "\n".join(plain(text_report(sample_result(), verbose=True)))
    for detail in ("trace 0", "trace 1", "hidden source here", "needs a CUDA GPU"):
        assert detail in text


def test_text_report_without_tests_says_so() -> None:
    text = click.unstyle(text_report(Result(0.0, 0.0, [], [])))
    assert text.startswith("No tests to run")


def test_text_report_colours_points_where_the_terminal_can() -> None:
    styled = text_report(sample_result())
    assert "\x1b[" in styled and "\x1b[" not in click.unstyle(styled)



# What a hostile submission prints: colour and a forged grader line, a window title, erasing the
# line, a carriage return to overwrite, a bell, an 8-bit CSI, a bidi override, a lone surrogate.
FORGERY = ("\x1b[32mPASSED 100/100\x1b[0m\x1b]0;owned\x07\x1b[2K\rtotal 100.00 / 100.00\x07"
           "\x9b1A\u202eexe.txt\ud800")


def with_output(output: str, outcome: str = "failed") -> Result:
    test = GradedTest(f"{PUB}::test_mse", "losses", "public", outcome, 0.0, 5.0, "mse is wrong",
                      "trace", output)
    return Result(0.0, 5.0, [GradedExercise("losses", 0.0, 5.0)], [test])


@pytest.mark.parametrize("text", [FORGERY, "\x1b", "\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\",
                                  "a\tb\x0bc\x0cd\x1ce\u2028f\x85g"])
def test_printable_leaves_no_escape_or_control_character(text: str) -> None:
    shown = printable(text)
    assert all(c == "\n" or c.isprintable() for c in shown), repr(shown)


def test_verbose_report_shows_a_failed_tests_output_made_printable_under_a_gutter() -> None:
    styled = text_report(with_output(FORGERY + "\nlast line\n"), verbose=True)
    for sequence in ("\x1b[32m", "\x1b]", "\x1b[2K", "\r", "\x07", "\x9b", "\u202e", "\ud800"):
        assert sequence not in styled
    lines = plain(styled)
    start = lines.index("      what the submission printed:")
    # The carriage return starts a line of its own; it stays behind the gutter.
    assert lines[start + 1:] == ["      | PASSED 100/100", "      | total 100.00 / 100.00exe.txt",
                                 "      | last line"]


def test_verbose_report_cuts_long_output_and_says_so() -> None:
    many = "".join(f"line {i}\n" for i in range(40))
    lines = output_lines(many)
    assert lines[1:-1] == [f"      | line {i}" for i in range(OUTPUT_LINES)]
    shown = "\n".join(f"line {i}" for i in range(OUTPUT_LINES))
    assert lines[-1] == (f"      [cut to {OUTPUT_LINES} lines / {OUTPUT_CHARS} characters: "
                         f"{len(many.strip()) - len(shown)} more characters not shown]")
    one_long_line = output_lines("x" * 5000)
    assert one_long_line[1] == "      | " + "x" * OUTPUT_CHARS
    assert one_long_line[-1].endswith(f" {5000 - OUTPUT_CHARS} more characters not shown]")


def test_output_is_shown_only_with_v_and_only_when_there_is_some() -> None:
    assert "what the submission printed" not in text_report(with_output("hello"))
    assert output_lines("") == output_lines("\n\x1b[0m\n") == []


def test_gradescope_shows_a_public_tests_output_after_its_report_printable_and_cut() -> None:
    many = "".join(f"line {i}\n" for i in range(40))
    data = gradescope_json(with_output(FORGERY + "\n" + many))
    jsonschema.validate(data, GRADESCOPE_SCHEMA)
    output = data["tests"][0]["output"]
    for sequence in ("\x1b", "\r", "\x07", "\x9b", "\u202e", "\ud800"):
        assert sequence not in output
    message, printed = output.split("\n\nWhat your code printed during this test:\n")
    assert message == "mse is wrong\n\ntrace"
    assert printed.splitlines()[:3] == ["| PASSED 100/100", "| total 100.00 / 100.00exe.txt",
                                        "| line 0"]
    assert len(printed.splitlines()) == OUTPUT_LINES + 1
    assert printed.endswith(" more characters not shown]")


def test_gradescope_never_shows_what_the_submission_printed_during_a_hidden_test() -> None:
    hidden = GradedTest(f"{HID}::test_ce", "losses", "hidden", "failed", 0.0, 10.0,
                        "cross_entropy is wrong", "hidden source here", "the hidden inputs")
    result = Result(0.0, 10.0, [GradedExercise("losses", 0.0, 10.0)], [hidden])
    assert gradescope_json(result)["tests"][0]["output"] == "cross_entropy is wrong"


def test_gradescope_adds_no_heading_when_nothing_was_printed() -> None:
    assert gradescope_json(with_output("\n\x1b[0m\n"))["tests"][0]["output"] == (
        "mse is wrong\n\ntrace")


def test_gradescope_cleans_the_message_and_report_the_submission_wrote() -> None:
    forged = GradedTest(f"{PUB}::test_mse", "losses", "public", "failed", 0.0, 10.0,
                        "ValueError: \x1b[32mPASSED\x1b[0m\rall good", "trace \u202eevil")
    result = Result(0.0, 10.0, [GradedExercise("losses", 0.0, 10.0)], [forged])
    output = gradescope_json(result)["tests"][0]["output"]
    assert output == "ValueError: PASSED\nall good\n\ntrace evil"
