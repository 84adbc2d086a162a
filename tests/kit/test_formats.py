"""The outputs are valid: the contract's result JSON and Gradescope's results.json, by schema.

jsonschema comes with nbformat (a dependency of the kit), so validating costs no extra install.
"""

from __future__ import annotations

from math import fsum

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
    assert tests["losses: mse"]["visibility"] == "visible"
    hidden = tests["losses: ce (hidden)"]
    assert hidden["visibility"] == "after_published" and hidden["status"] == "failed"
    assert "hidden source" not in hidden["output"]  # a hidden test's report would show its code
    assert tests["losses: grad"]["output"].endswith("trace 0")


def test_gradescope_leaves_out_skipped_tests_worth_nothing() -> None:
    names = [t["name"] for t in gradescope_json(sample_result())["tests"]]
    assert names == ["losses: mse", "losses: grad", "losses: ce (hidden)"]


def test_gradescope_summary_counts_public_points_only() -> None:
    output = gradescope_json(sample_result())["output"]
    assert output.startswith("Public tests: 5.00 / 10.00 points.")
    assert "Hidden tests (1, 10.00 points)" in output


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
    assert message == f"{PUB}::test_mse: mse is wrong\n\ntrace"
    assert printed.splitlines()[:3] == ["| PASSED 100/100", "| total 100.00 / 100.00exe.txt",
                                        "| line 0"]
    assert len(printed.splitlines()) == OUTPUT_LINES + 1
    assert printed.endswith(" more characters not shown]")


def test_gradescope_never_shows_what_the_submission_printed_during_a_hidden_test() -> None:
    hidden = GradedTest(f"{HID}::test_ce", "losses", "hidden", "failed", 0.0, 10.0,
                        "cross_entropy is wrong", "hidden source here", "the hidden inputs")
    result = Result(0.0, 10.0, [GradedExercise("losses", 0.0, 10.0)], [hidden])
    output = gradescope_json(result)["tests"][0]["output"]
    assert output == f"{HID}::test_ce: cross_entropy is wrong"


def test_gradescope_adds_no_heading_when_nothing_was_printed() -> None:
    assert gradescope_json(with_output("\n\x1b[0m\n"))["tests"][0]["output"] == (
        f"{PUB}::test_mse: mse is wrong\n\ntrace")


def test_gradescope_cleans_the_message_and_report_the_submission_wrote() -> None:
    forged = GradedTest(f"{PUB}::test_mse", "losses", "public", "failed", 0.0, 10.0,
                        "ValueError: \x1b[32mPASSED\x1b[0m\rall good", "trace \u202eevil")
    result = Result(0.0, 10.0, [GradedExercise("losses", 0.0, 10.0)], [forged])
    output = gradescope_json(result)["tests"][0]["output"]
    assert output == f"{PUB}::test_mse: ValueError: PASSED\nall good\n\ntrace evil"


# --- Gradescope rows: one per test function -----------------------------------------------------

ACT, BACK = "tests/public/test_activations.py", "tests/public/test_backprop.py"
HBACK = "tests/hidden/test_backprop.py"


def case(test_id: str, outcome: str = "passed", max_score: float = 0.13, message: str = "",
         visibility: str = "public") -> GradedTest:
    exercise = test_id.split("::")[0].rsplit("_", 1)[-1].removesuffix(".py")
    score = max_score if outcome == "passed" else 0.0
    return GradedTest(test_id, exercise, visibility, outcome, score, max_score, message,
                      f"report of {test_id}")


def folded_result(tests: list[GradedTest], uses: tuple[str, ...] = ()) -> Result:
    names = [e for e in ("activations", "backprop") if any(t.exercise == e for t in tests)]
    exercises = [GradedExercise(name, sum(t.score for t in tests if t.exercise == name),
                                sum(t.max_score for t in tests if t.exercise == name),
                                uses if name == "backprop" else ())
                 for name in names]
    return Result(round(fsum(t.score for t in tests), 2),
                  round(fsum(t.max_score for t in tests), 2), exercises, tests)


def test_gradescope_folds_the_cases_of_a_test_function_into_one_row() -> None:
    tests = [
        case(f"{BACK}::test_gradient_check[relu]"),
        case(f"{BACK}::test_gradient_check[sigmoid]", "failed", message="W1 is off by 3e-2"),
        case(f"{BACK}::test_gradient_check[tanh]", "timeout", message="took longer than 10 s"),
        case(f"{BACK}::test_forward_shape"),
    ]
    data = gradescope_json(folded_result(tests))
    jsonschema.validate(data, GRADESCOPE_SCHEMA)
    check, shape = data["tests"]
    assert (check["name"], shape["name"]) == ("backprop: gradient check", "backprop: forward shape")
    assert (check["score"], check["max_score"], check["status"]) == (0.13, 0.39, "failed")
    assert (shape["score"], shape["max_score"], shape["status"]) == (0.13, 0.13, "passed")
    assert check["output"].splitlines()[:2] == [
        f"{BACK}::test_gradient_check[sigmoid]: W1 is off by 3e-2",
        "(and 1 more failing case of this test)",
    ]
    # the report shown is the named case's
    assert check["output"].endswith("report of " + f"{BACK}::test_gradient_check[sigmoid]")
    assert shape["output"] == ""


def test_gradescope_rows_follow_the_teaching_order_and_are_numbered_so() -> None:
    tests = [
        case(f"{BACK}::test_forward_shape"),
        case(f"{ACT}::test_relu[0]"), case(f"{ACT}::test_relu[1]"),
        case(f"{HBACK}::test_forward_shape", visibility="hidden"),
        case(f"{ACT}::test_sigmoid"),
    ]
    rows = gradescope_json(folded_result(tests))["tests"]
    assert [(r["number"], r["name"], r["visibility"]) for r in rows] == [
        ("1.1", "activations: relu", "visible"),
        ("1.2", "activations: sigmoid", "visible"),
        ("5.1", "backprop: forward shape", "visible"),
        ("5.2", "backprop: forward shape (hidden)", "after_published"),
    ]


def test_folding_never_changes_the_total_score() -> None:
    # 300 cases of a third of a point each, rounded to cents one by one: the rows add up to
    # 99.00, the result (rounded once from the unrounded shares) says 100.
    tests = [case(f"{ACT}::test_f{i // 7}[{i}]", max_score=0.33) for i in range(300)]
    result = folded_result(tests)
    result.score = result.max_score = 100.0
    data = gradescope_json(result)
    assert data["score"] == 100.0
    assert len(data["tests"]) == 43
    assert all(row["score"] == row["max_score"] for row in data["tests"])


# --- where a failure comes from ---------------------------------------------------------------

def overflowing_sigmoid() -> Result:
    """activations fails two public cases and a hidden one; backprop, which uses it, fails one
    public and one hidden case."""
    overflow = "sigmoid raised FloatingPointError (overflow encountered in exp)"
    return folded_result([
        case(f"{ACT}::test_stable[sigmoid]", "failed", message=overflow),
        case(f"{ACT}::test_stable[sigmoid_grad]", "failed", message=overflow),
        case("tests/hidden/test_activations.py::test_huge", "failed", message=overflow,
             visibility="hidden"),
        case(f"{ACT}::test_relu"),
        case(f"{BACK}::test_gradient_check[sigmoid]", "failed", message=overflow),
        case(f"{BACK}::test_gradient_check[relu]"),
        case(f"{HBACK}::test_large_inputs", "error", message=overflow, visibility="hidden"),
    ], uses=("activations",))


def test_text_report_says_first_where_an_exercises_failures_may_come_from() -> None:
    lines = plain(text_report(overflowing_sigmoid()))
    at = lines.index("backprop")
    assert lines[at + 1] == "  backprop uses your activations, which fail 3 tests: fix those first"
    assert lines[at + 2].strip().startswith("FAIL")
    # activations uses nothing: its failures are its own
    assert not any("activations uses" in line for line in lines)


def test_no_cause_without_failures_of_its_own_or_of_what_it_uses() -> None:
    result = overflowing_sigmoid()
    passing = [t for t in result.tests if t.exercise == "activations" or "relu" in t.id]
    assert "uses your" not in click.unstyle(text_report(folded_result(passing, ("activations",))))
    fixed = [t for t in result.tests if t.exercise == "backprop"]
    assert "uses your" not in click.unstyle(text_report(folded_result(fixed, ("activations",))))
    alone = folded_result(result.tests)  # backprop imports nothing
    assert "uses your" not in click.unstyle(text_report(alone))


def test_gradescope_says_the_cause_first_counting_only_what_its_reader_may_see() -> None:
    data = gradescope_json(overflowing_sigmoid())
    rows = {row["name"]: row for row in data["tests"]}
    # Before grades are published a student sees public results only: 2 failing tests.
    public_line = "backprop uses your activations, which fail 2 tests: fix those first"
    assert rows["backprop: gradient check"]["output"].startswith(public_line + "\n\n" + BACK)
    assert data["output"].endswith("\n\n" + public_line)
    hidden = rows["backprop: large inputs (hidden)"]["output"]
    assert hidden.startswith("backprop uses your activations, which fail 3 tests: fix those first")
    assert "uses your" not in rows["activations: stable"]["output"]
    assert rows["activations: relu"]["output"] == ""
