"""The outputs of a graded submission, one function per format.

- `text_report`: the table a student reads (colour through click.style; click.echo drops it
  where the terminal has none, as in CI logs). Text that came from the submission (messages,
  failure reports, what it printed) is made `printable` first: it cannot colour, move the
  cursor or start a line of its own, so it cannot pass for the grader's lines.
- `result_json`: the contract's result schema.
- `gradescope_json`: Gradescope's results.json (its autograder specification: top-level
  score, execution_time, output, visibility, stdout_visibility, tests; a test has name, score,
  max_score, status "passed"/"failed", visibility, output). A public test's output is its
  message, its report and what the submission printed during it (cut as with -v); a hidden
  test's is its message only.
"""

from __future__ import annotations

import re
from math import fsum
from typing import Any

import click

from grader.grading.results import GradedTest, Result

MARKS = {"failed": "FAIL", "error": "ERROR", "timeout": "TIMEOUT", "skipped": "SKIP"}
MARK_COLOURS = {"failed": "red", "error": "red", "timeout": "yellow", "skipped": "cyan"}
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
        for exercise in result.exercises:
            of_exercise = [t for t in shown if t.exercise == exercise.name]
            if of_exercise:
                lines.append(click.style(exercise.name, bold=True))
                lines += failure_lines(of_exercise, verbose)
    if result.notes:
        lines += ["", *result.notes]
    return "\n".join(lines)


def result_json(result: Result) -> dict[str, Any]:
    """The contract's result JSON, exactly its keys."""
    return {
        "score": result.score,
        "max_score": result.max_score,
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


def gradescope_test(test: GradedTest) -> dict[str, Any]:
    # The message and report carry the submission's own exception text: cleaned as in `grade -v`.
    output = printable(test.message)
    if test.visibility == "public":
        # A hidden test's report would show its source, and what the submission printed during
        # it could show its inputs; a public one's are the student's own to run.
        if test.details:
            output += f"\n\n{printable(test.details)}"
        printed = output_lines(test.output, "What your code printed during this test:", "")
        if printed:
            output += "\n\n" + "\n".join(printed)
    return {
        "name": test.id,
        "score": test.score,
        "max_score": test.max_score,
        "status": "passed" if test.outcome == "passed" else "failed",
        "visibility": GRADESCOPE_VISIBILITY[test.visibility],
        "output": output,
    }


def gradescope_json(result: Result) -> dict[str, Any]:
    """Gradescope's results.json. Skipped tests worth nothing (GPU-only) are left out.

    The top-level output counts public points only, so hidden results stay unseen until grades
    are published.
    """
    public = [t for t in result.tests if t.visibility == "public"]
    hidden = [t for t in result.tests if t.visibility == "hidden"]
    output = (
        f"Public tests: {fsum(t.score for t in public):.2f} / "
        f"{fsum(t.max_score for t in public):.2f} points."
    )
    if hidden:
        output += (
            f" Hidden tests ({len(hidden)}, {fsum(t.max_score for t in hidden):.2f} points)"
            " are shown when grades are published."
        )
    return {
        "score": result.score,
        "execution_time": round(result.seconds),
        "output": output,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [
            gradescope_test(t)
            for t in result.tests
            if not (t.outcome == "skipped" and t.max_score == 0)
        ],
    }
