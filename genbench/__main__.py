"""`python -m genbench` runs the CLI."""

from .cli import main

main()
