"""`python -m tempo_core` runs the `tempo` command line."""

from tempo_core.cli import main

main()
