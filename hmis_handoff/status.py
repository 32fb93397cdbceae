"""``handoff status``: ledger counts by state, per agency and partner, plus timeliness."""

from __future__ import annotations

from typing import Any

from hmis_handoff.config import Settings
from hmis_handoff.deadlines import timeliness_by, today_in
from hmis_handoff.ledger import Ledger

__all__ = ["status_report"]


def status_report(settings: Settings, *, ledger: Ledger | None = None) -> dict[str, Any]:
    """Counts of files and records by (agency, partner, state), and timeliness figures."""
    own = ledger is None
    ledger = ledger or Ledger(settings.ledger_url)
    try:
        files = ledger.file_state_counts()
        records = ledger.record_state_counts()
        as_of = today_in(settings)
        by_agency = timeliness_by(settings, ledger, group="agency", as_of=as_of)
        by_partner = timeliness_by(settings, ledger, group="partner", as_of=as_of)
    finally:
        if own:
            ledger.close()
    return {
        "as_of": as_of.isoformat(),
        "files": [
            {"agency": a, "partner": p, "state": s, "count": n}
            for (a, p, s), n in sorted(files.items())
        ],
        "records": [
            {"agency": a, "partner": p, "state": s, "count": n}
            for (a, p, s), n in sorted(records.items())
        ],
        "timeliness_by_agency": by_agency,
        "timeliness_by_partner": by_partner,
    }
