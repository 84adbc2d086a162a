"""Write one benchmark's figures into its own section of docs/benchmarks.md.

Each benchmark script owns the section between `<!-- BEGIN name -->` and `<!-- END name -->`
and replaces it on every run, so the page always shows the latest figures of every benchmark.
"""

from __future__ import annotations

import platform
import re
from datetime import date
from pathlib import Path

PAGE = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
HEADER = (
    "# Benchmarks\n\n"
    "Figures written by the scripts in `benchmarks/`; each section says how to reproduce it.\n"
    "Medians and ratios are from one run of the script: these machines are noisy.\n"
)


def machine_line() -> str:
    """One line naming the machine the figures come from (no host names)."""
    import os

    return (
        f"{date.today().isoformat()}, {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )


def write_section(name: str, markdown: str, page: Path = PAGE) -> None:
    """Replace (or append) the section `name` of the benchmarks page with `markdown`."""
    text = page.read_text() if page.exists() else HEADER
    block = f"<!-- BEGIN {name} -->\n{markdown.rstrip()}\n<!-- END {name} -->"
    pattern = re.compile(
        rf"<!-- BEGIN {re.escape(name)} -->.*?<!-- END {re.escape(name)} -->", re.DOTALL
    )
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = f"{text.rstrip()}\n\n{block}\n"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(text)
