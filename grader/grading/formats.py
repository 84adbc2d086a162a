"""The outputs of a graded submission, one function per format.

- `text_report`: the table a student reads (colour through click.style; click.echo drops it
  where the terminal has none, as in CI logs). Text that came from the submission (messages,
  failure reports, what it printed) is made `printable` first: it cannot colour, move the
  cursor or start a line of its own, so it cannot pass for the grader's lines.
- `result_json`: the contract's result schema.
- `gradescope_json`: Gradescope's results.json (its autograder specification: top-level
  score, execution_time, output, visibility, stdout_visibility, tests; a test has name, number,
  score, max_score, status "passed"/"failed", visibility, output). One Gradescope test per test
  function, its parametrised cases folded in (`gradescope_rows`); a public row's output names
  its first failing case with that case's message, report and what the submission printed
  during it (cut as with -v); a hidden row's names the case and gives its message only.

Where an exercise fails tests and uses another exercise that fails some too, its failures
say so first, in one line (grader.grading.dependencies: "backprop uses your activations, which
fail 3 tests: fix those first").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from math import fsum
from typing import Any

import click

from grader.grading.dependencies import cause_line, failing_uses
from grader.grading.results import GradedTest, Result
from grader.kit import EXERCISES
from grader.sandbox.isolation import HIDES_KIT

MARKS = {"failed": "FAIL", "error": "ERROR", "timeout": "TIMEOUT", "skipped": "SKIP"}
MARK_COLOURS = {"failed": "red", "error": "red", "timeout": "yellow", "skipped": "cyan"}
# Outcomes that count as an exercise failing a test (a skip is the machine's, not the code's).
FAILING = ("failed", "error", "timeout")
# Gradescope shows a test to students: public ones at once, hidden ones once grades are out.
GRADESCOPE_VISIBILITY = {"public": "visible", "hidden": "after_published"}
# Lines of failures per exercise without -v: alike failures share one, the rest are counted.
MAX_KINDS = 8
# What the submission printed during a failed test (grade -v, Gradescope), cut to this.
OUTPUT_LINES = 10
OUTPUT_CHARS = 1000
# Terminal escape sequences (ECMA-48), 7- and 8-bit: CSI (colours, cursor moves, erasing), the
# string commands OSC, DCS, SOS, PM, APC (window titles, links; an unterminated one ends at the
# line's end), and two-character escapes (ESC c resets the terminal).
ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b[]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c\n]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]"
)


def printable(text: str) -> str:
    """Untrusted `text` made safe to print: no escape sequence, no control or format character
    (bidi overrides included), a carriage return read as a line break, tabs and other spaces as
    plain spaces. Lines are split by "\\n" only."""
    text = ESCAPES.sub("", text).replace("\r\n", "\n").replace("\r", "\n").expandtabs(4)
    return "\n".join(
        line if line.isprintable() else
        "".join(c if c.isprintable() else " " if c.isspace() else "" for c in line)
        for line in text.split("\n")
    )


def output_lines(
    output: str, heading: str = "what the submission printed:", indent: str = "      "
) -> list[str]:
    """What the submission printed, under its failed test: `heading`, then the text printable,
    cut to OUTPUT_LINES lines and OUTPUT_CHARS characters (a note says how much was left out),
    each line behind a `|`; every line starts with `indent`. Nothing if it printed nothing."""
    text = printable(output).strip("\n")
    if not text.strip():
        return []
    shown = text[:OUTPUT_CHARS].split("\n")[:OUTPUT_LINES]
    lines = [f"{indent}{heading}", *(f"{indent}| {line}" for line in shown)]
    left_out = len(text) - len("\n".join(shown))
    if left_out:
        lines.append(f"{indent}[cut to {OUTPUT_LINES} lines / {OUTPUT_CHARS} characters: "
                     f"{left_out} more characters not shown]")
    return lines


def points(score: float, max_score: float) -> str:
    text = f"{score:6.2f} / {max_score:6.2f}"
    if max_score <= 0:
        return text
    colour = "green" if score >= max_score else "red" if score == 0 else "yellow"
    return click.style(text, fg=colour)


def table(result: Result) -> list[str]:
    lines = [click.style(f"{'exercise':<13}{'points':>8}", bold=True)]
    lines += [f"{e.name:<13}{points(e.score, e.max_score)}" for e in result.exercises]
    lines.append(click.style(f"{'total':<13}", bold=True) + points(result.score, result.max_score))
    return lines


def mark(test: GradedTest) -> str:
    return click.style(f"{MARKS[test.outcome]:<7}", fg=MARK_COLOURS[test.outcome])


def failure_lines(tests: list[GradedTest], verbose: bool) -> list[str]:
    """One line per kind of failure (same outcome and message), or with -v every test in full."""
    if verbose:
        lines = []
        for test in tests:
            lines.append(f"  {mark(test)} {test.id}: {printable(test.message)}")
            lines += [f"      {line}" for line in printable(test.details).splitlines()]
            lines += output_lines(test.output)
        return lines
    kinds: dict[tuple[str, str], list[GradedTest]] = {}
    for test in tests:
        kinds.setdefault((test.outcome, test.message), []).append(test)
    lines = []
    for (_, message), alike in list(kinds.items())[:MAX_KINDS]:
        # A public test's id is one a student can run: pytest tests/public/... -k ...
        shown = next((t for t in alike if t.visibility == "public"), alike[0])
        more = f" (and {len(alike) - 1} more like it)" if len(alike) > 1 else ""
        lines.append(f"  {mark(shown)} {shown.id}{more}: {printable(message)}")
    if len(kinds) > MAX_KINDS:
        lines.append(f"  ... and {len(kinds) - MAX_KINDS} more kinds of failure")
    return lines


def causes(result: Result, counted: Iterable[GradedTest]) -> dict[str, str]:
    """Exercise -> the line saying which exercises it uses fail tests too, for each exercise
    that fails one of the `counted` tests and uses (directly or not) one that fails another.
    Only `counted` tests are counted: what a reader may see of the result."""
    failures = Counter(t.exercise for t in counted if t.outcome in FAILING)
    uses = {e.name: e.uses for e in result.exercises}
    lines = {name: cause_line(name, failing_uses(name, uses, failures)) for name in failures}
    return {name: line for name, line in lines.items() if line}


def text_report(result: Result, verbose: bool = False) -> str:
    """The table of exercises, then why points were lost, then notes, as styled text."""
    if not result.tests:
        lines = ["No tests to run: no suite of the chosen exercises is present."]
    else:
        lines = table(result)
        shown = [t for t in result.tests if t.outcome not in ("passed", "skipped") or
                 (verbose and t.outcome == "skipped")]
        if shown:
            more = ":" if verbose else " (grade -v shows the full reports):"
            lines += ["", "Why points were lost" + more]
        why = causes(result, result.tests)
        for exercise in result.exercises:
            of_exercise = [t for t in shown if t.exercise == exercise.name]
            if of_exercise:
                lines.append(click.style(exercise.name, bold=True))
                lines += [f"  {why[exercise.name]}"] if exercise.name in why else []
                lines += failure_lines(of_exercise, verbose)
    if result.notes:
        lines += ["", *result.notes]
    if result.isolation:
        lines += ["", isolation_line(result.isolation)]
    return "\n".join(lines)


def isolation_line(mode: str) -> str:
    """Which sandbox ran the submission; where it could read the kit's files, that this grade
    is feedback, not evidence (docs/security.md)."""
    if mode in HIDES_KIT:
        return f"Isolation: {mode} (the submission could not see the kit's tests or solutions)."
    return (f"Isolation: {mode}. This grade is feedback, not evidence: the submission could "
            "read the kit's files (docs/security.md).")


def result_json(result: Result) -> dict[str, Any]:
    """The contract's result JSON: its keys, and `isolation` (the mode that ran, when one did)."""
    return {
        "score": result.score,
        "max_score": result.max_score,
        **({"isolation": result.isolation} if result.isolation else {}),
        "exercises": [
            {"name": e.name, "score": e.score, "max_score": e.max_score} for e in result.exercises
        ],
        "tests": [
            {
                "id": t.id,
                "exercise": t.exercise,
                "visibility": t.visibility,
                "outcome": t.outcome,
                "score": t.score,
                "max_score": t.max_score,
                "message": t.message,
            }
            for t in result.tests
        ],
    }


def gradescope_rows(tests: Iterable[GradedTest]) -> list[list[GradedTest]]:
    """The tests grouped into Gradescope's rows: one per test function (the id without its
    parametrisation `[...]`), its cases in manifest order; rows by exercise in teaching order,
    then in manifest order (public suites before hidden). Skipped tests worth nothing (GPU-only)
    are left out, and so is a function left with no case."""
    rows: dict[str, list[GradedTest]] = {}
    for test in tests:
        if not (test.outcome == "skipped" and test.max_score == 0):
            rows.setdefault(test.id.partition("[")[0], []).append(test)
    return sorted(rows.values(), key=lambda cases: exercise_position(cases[0].exercise))


def exercise_position(exercise: str) -> int:
    """1 for the first exercise of the teaching order; past the last for one it lacks."""
    return EXERCISES.index(exercise) + 1 if exercise in EXERCISES else len(EXERCISES) + 1


def row_name(test: GradedTest) -> str:
    """"backprop: gradient check" for tests/public/test_backprop.py::test_gradient_check[...];
    a hidden test's name says so (a public test may have a hidden namesake)."""
    function = test.id.partition("[")[0].rsplit("::", 1)[-1]
    name = f"{test.exercise}: {function.removeprefix('test_').replace('_', ' ')}"
    return name + " (hidden)" if test.visibility == "hidden" else name


def row_output(cases: Sequence[GradedTest], cause: str) -> str:
    """What a row shows: nothing when every case passed; else `cause` (if any), then the first
    failing case by id with its message and "and N more" when others fail. A public case's
    report and what the submission printed during it follow; a hidden one's would show its
    source and inputs."""
    failing = [t for t in cases if t.outcome != "passed"]
    if not failing:
        return ""
    first = failing[0]
    # The message and report carry the submission's own exception text: cleaned as in grade -v.
    output = f"{first.id}: {printable(first.message)}"
    if len(failing) > 1:
        others = len(failing) - 1
        output += f"\n(and {others} more failing case{'s' if others > 1 else ''} of this test)"
    if cause:
        output = f"{cause}\n\n{output}"
    if first.visibility == "public":
        if first.details:
            output += f"\n\n{printable(first.details)}"
        printed = output_lines(first.output, "What your code printed during this test:", "")
        if printed:
            output += "\n\n" + "\n".join(printed)
    return output


def gradescope_row(cases: Sequence[GradedTest], number: str, cause: str) -> dict[str, Any]:
    """One Gradescope test of a test function's cases: points summed (fsum, to cents), passed
    when every case passed. The cases share a suite file, so one visibility."""
    first = cases[0]
    return {
        "name": row_name(first),
        "number": number,
        "score": round(fsum(t.score for t in cases), 2),
        "max_score": round(fsum(t.max_score for t in cases), 2),
        "status": "passed" if all(t.outcome == "passed" for t in cases) else "failed",
        "visibility": GRADESCOPE_VISIBILITY[first.visibility],
        "output": row_output(cases, cause),
    }


def gradescope_json(result: Result) -> dict[str, Any]:
    """Gradescope's results.json: one test per test function (`gradescope_rows`), in teaching
    order, each numbered "<exercise's position>.<row's position in it>" (the specification's
    `number`; without one Gradescope numbers tests by their place in the list).

    The top-level score is the result's, never a sum of rows (each row is rounded to cents).
    What shows before grades are published counts public tests only, so hidden results stay
    unseen until then: the top-level output and the causes of a public row.
    """
    public = [t for t in result.tests if t.visibility == "public"]
    rows = gradescope_rows(result.tests)
    hidden = [cases for cases in rows if cases[0].visibility == "hidden"]
    output = (
        f"Public tests: {fsum(t.score for t in public):.2f} / "
        f"{fsum(t.max_score for t in public):.2f} points."
    )
    if hidden:
        output += (
            f" Hidden tests ({len(hidden)}, "
            f"{fsum(t.max_score for cases in hidden for t in cases):.2f} points)"
            " are shown when grades are published."
        )
    if result.isolation:
        output += "\n" + isolation_line(result.isolation)
    seen = {"public": causes(result, public), "hidden": causes(result, result.tests)}
    if seen["public"]:
        output += "\n\n" + "\n".join(seen["public"].values())
    tests = []
    in_exercise: Counter[str] = Counter()
    for cases in rows:
        exercise, visibility = cases[0].exercise, cases[0].visibility
        in_exercise[exercise] += 1
        number = f"{exercise_position(exercise)}.{in_exercise[exercise]}"
        tests.append(gradescope_row(cases, number, seen[visibility].get(exercise, "")))
    return {
        "score": result.score,
        "execution_time": round(result.seconds),
        "output": output,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }
