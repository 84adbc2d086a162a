"""The `grade` command line: thin Click commands, one module per family of commands.

`main` is the group and grades one submission; `reports`, `tools`, `authoring` and `cohort` add
the other commands; `common` holds what they share (the one-line error, shared options).
Commands import their work inside their function, so that `grade report` never pays for NumPy,
PyTorch or pytest. May import: everything below it (grading, sandbox, cohort, authoring, tools,
kit). Nothing imports it.
"""

from grader.cli import authoring, cohort, reports, tools
from grader.cli.grade import main

for module in (reports, tools, authoring, cohort):
    for command in module.COMMANDS:
        main.add_command(command)

__all__ = ["main"]
