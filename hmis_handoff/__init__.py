"""HMIS Handoff: Coordinated Entry intakes from non-HMIS agencies to their HMIS data partner.

Core package. Nothing in here imports Prefect: flows in ``flows/`` orchestrate these functions.
"""

__version__ = "0.1.0"
