"""``python -m hmis_handoff`` runs the ``handoff`` command line."""

from hmis_handoff.cli import main

main()
