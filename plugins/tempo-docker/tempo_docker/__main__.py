"""`python -m tempo_docker` runs the `tempo docker` commands."""

from tempo_docker.cli import main

main()
