"""`python -m vidstyle ...` runs the `vidstyle` command."""

from vidstyle.cli.app import main

main()
