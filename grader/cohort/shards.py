"""Deterministic slices of a cohort, so N machines (a CI matrix) can each grade one.

Shard K of N (K in 1..N) holds the students whose id hashes to K - 1 modulo N. The hash is
SHA-256 of the id's UTF-8 bytes, so every machine, Python version and directory listing order
puts a student in the same shard, and adding a student moves nobody else.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass


class ShardError(ValueError):
    """A shard spec that is not K/N with 1 <= K <= N."""


@dataclass(frozen=True)
class Shard:
    index: int  # K, from 1
    count: int  # N

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(spec: str) -> Shard:
    """"2/4" -> Shard(index=2, count=4)."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", spec)
    if not match:
        raise ShardError(f"shard {spec!r} is not K/N (for example 1/4)")
    index, count = int(match[1]), int(match[2])
    if not 1 <= index <= count:
        raise ShardError(f"shard {spec!r}: K must be between 1 and N")
    return Shard(index, count)


def shard_of(student: str, count: int) -> int:
    """The shard (1..count) a student belongs to: sha256(id) mod count, plus one."""
    digest = hashlib.sha256(student.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def select(students: Iterable[str], shard: Shard | None) -> list[str]:
    """The students of `shard`, in the order given (all of them when shard is None)."""
    if shard is None:
        return list(students)
    return [s for s in students if shard_of(s, shard.count) == shard.index]
