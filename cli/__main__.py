"""``python -m cli`` runs the ``handoff`` command line."""

from cli.app import main

main()
