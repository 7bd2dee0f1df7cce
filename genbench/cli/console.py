"""The command line's two consoles: results and progress on stdout, problems on stderr; and the
Screen the run sessions write to."""

from __future__ import annotations

from rich.console import Console

from genbench.run.session import Screen

console = Console()
errors = Console(stderr=True)
screen = Screen(console, errors)
DEFAULT_OUT = "genbench-results"  # the results folder every command defaults to


def print_text(text: str) -> None:
    """A reporter's text as it is: no markup, no highlighting, no wrapping."""
    console.print(text, highlight=False, markup=False, soft_wrap=True, end="")
