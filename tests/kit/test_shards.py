"""Sharding is deterministic, covers every student once, and merging shards gives one batch."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli.cohort import merge_command
from grader.cohort.batch import run_batch
from grader.cohort.gradebook import COLUMNS, Row, read_gradebook
from grader.cohort.shards import Shard, ShardError, parse_shard, select, shard_of
from grader.grading.pipeline import Graded, Setup
from grader.grading.results import GradedExercise, Result
from grader.grading.submission import Staged
from grader.kit import EXERCISES

STUDENTS = [f"student{i:03d}" for i in range(200)]


@pytest.mark.parametrize(("spec", "shard"), [("1/4", Shard(1, 4)), (" 3 / 3 ", Shard(3, 3))])
def test_parse(spec: str, shard: Shard) -> None:
    assert parse_shard(spec) == shard


@pytest.mark.parametrize("spec", ["0/4", "5/4", "1/0", "2", "a/b", "1/2/3", "-1/2"])
def test_bad_specs_are_refused(spec: str) -> None:
    with pytest.raises(ShardError):
        parse_shard(spec)


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_shards_partition_the_cohort(count: int) -> None:
    slices = [select(STUDENTS, Shard(k, count)) for k in range(1, count + 1)]
    assert sorted(s for piece in slices for s in piece) == STUDENTS
    assert all(len(piece) > 200 / count / 2 for piece in slices), [len(p) for p in slices]


def test_assignment_is_fixed_across_machines() -> None:
    # SHA-256 of the id, not Python's salted hash(): these values hold on every machine.
    assert [shard_of(s, 4) for s in ("alice", "bob", "carol", "dave")] == [4, 3, 3, 4]


def test_no_shard_selects_everyone() -> None:
    assert select(STUDENTS, None) == STUDENTS


def points_grader(setup: Setup, staged: Staged) -> Graded:
    """A stand-in grader: an exercise file scores the number written in it."""
    exercises = [
        GradedExercise(name, float((staged.folder / f"{name}.py").read_text()), 10.0)
        for name in staged.exercises
    ]
    return Graded(Result(sum(e.score for e in exercises), 60.0, exercises, []), [])


def test_shards_then_merge_give_the_gradebook_of_one_batch(tmp_path: Path) -> None:
    cohort = tmp_path / "subs"
    for i in range(15):
        (cohort / f"s{i:02d}").mkdir(parents=True)
        for j, name in enumerate(EXERCISES[: 1 + i % 6]):
            (cohort / f"s{i:02d}" / f"{name}.py").write_text(f"{(i * j) % 11}\n")
    (cohort / "empty").mkdir()  # refused: a row in whichever shard it falls
    quiet = io.StringIO()
    whole = tmp_path / "one" / "gradebook.csv"
    run_batch(cohort, whole, jobs=2, stream=quiet, grade=points_grader)
    pieces = [tmp_path / f"shard{k}" / f"gradebook-{k}.csv" for k in (1, 2, 3)]
    for k, piece in enumerate(pieces, start=1):
        report = run_batch(cohort, piece, jobs=2, shard=Shard(k, 3), stream=quiet,
                           grade=points_grader)
        assert report.rows, f"shard {k}/3 is empty"
    merged = tmp_path / "merged.csv"
    outcome = CliRunner().invoke(merge_command, [*map(str, pieces), "--out", str(merged)])
    assert outcome.exit_code == 0, outcome.output
    assert "16 students from 3 gradebooks" in outcome.output
    # Everything but the grading seconds, which are timings, not grades.
    assert untimed(read_gradebook(merged)) == untimed(read_gradebook(whole))
    assert merged.read_text().splitlines()[0] == whole.read_text().splitlines()[0]


def untimed(rows: list[Row]) -> list[Row]:
    return [replace(row, seconds=0.0) for row in rows]


def test_merging_a_shard_twice_is_refused(tmp_path: Path) -> None:
    piece = tmp_path / "gradebook-1.csv"
    piece.write_text(",".join(COLUMNS) + "\nann,1,0,0,0,0,0,1,100,,0.1\n")
    outcome = CliRunner().invoke(merge_command, [str(piece), str(piece), "--out", "x.csv"])
    assert outcome.exit_code == 2
    assert "'ann' is in both" in outcome.output
