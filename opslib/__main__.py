"""`python -m opslib` is the `playbook` command."""

from opslib.cli import main

main(prog_name="playbook")
