"""The ``handoff`` command line (:mod:`cli.app`); ``python -m cli`` runs it.

Top layer, beside :mod:`flows`: it parses arguments, wires settings and connectors into the
use cases, and starts flows. See docs/architecture.md.
"""
