"""Plain-language meanings of the HUD codes, for templates and staff-facing help.

Labels follow the HMIS Data Dictionary wording (hmis-domain.md §1.3); a code without a label
here is shown as itself. Validation never uses this module: it only explains codes.
"""

from __future__ import annotations

from typing import Final

from schemas import codes
from schemas.columns import ColumnSpec

__all__ = ["code_list"]

_REASONS: Final = {
    "8": "Client doesn't know",
    "9": "Client prefers not to answer",
    "99": "Data not collected",
}
_NO_YES: Final = {"0": "No", "1": "Yes"}

_BY_COLUMN: Final[dict[str, dict[str, str]]] = {
    "NameDataQuality": {
        "1": "Full name reported",
        "2": "Partial, street name, or code name reported",
        **_REASONS,
    },
    "SSNDataQuality": {
        "1": "Full SSN reported",
        "2": "Approximate or partial SSN reported",
        **_REASONS,
    },
    "DOBDataQuality": {
        "1": "Full DOB reported",
        "2": "Approximate or partial DOB reported",
        **_REASONS,
    },
    "Sex": {"0": "Female", "1": "Male", **_REASONS},
    "RelationshipToHoH": {
        "1": "Self (head of household)",
        "2": "Child",
        "3": "Spouse or partner",
        "4": "Other relative",
        "5": "Unrelated household member",
        "99": "Data not collected",
    },
    "LivingSituation": {
        "101": "Emergency shelter",
        "116": "Place not meant for habitation",
        "118": "Safe Haven",
        "204": "Psychiatric hospital or facility",
        "205": "Substance abuse treatment or detox",
        "206": "Hospital (non-psychiatric)",
        "207": "Jail, prison or juvenile detention",
        "215": "Foster care or group home",
        "225": "Long-term care or nursing home",
        "302": "Transitional housing",
        "314": "Hotel/motel without ES voucher",
        "329": "Residential project or halfway house",
        "332": "Host Home (non-crisis)",
        "335": "Staying with family",
        "336": "Staying with friend",
        "410": "Rental, no ongoing subsidy",
        "411": "Owned, no ongoing subsidy",
        "421": "Owned, with ongoing subsidy",
        "435": "Rental, with ongoing subsidy",
        **_REASONS,
    },
    "RentalSubsidyType": {
        "419": "VASH",
        "420": "Other ongoing subsidy",
        "428": "GPD TIP",
        "431": "RRH or equivalent",
        "433": "HCV voucher",
        "434": "Public housing unit",
        "436": "Housing Stability Voucher",
        "437": "FUP",
        "438": "FYI",
        "439": "Permanent Supportive Housing",
        "440": "Other permanent housing for formerly homeless",
    },
    "LengthOfStay": {
        "10": "One night or less",
        "11": "Two to six nights",
        "2": "One week to < one month",
        "3": "One month to < 90 days",
        "4": "90 days to < one year",
        "5": "One year or longer",
        **_REASONS,
    },
    "TimesHomelessPastThreeYears": {
        "1": "One time",
        "2": "Two times",
        "3": "Three times",
        "4": "Four or more times",
        **_REASONS,
    },
    "AssessmentType": {"1": "Phone", "2": "Virtual", "3": "In person"},
    "AssessmentLevel": {"1": "Crisis Needs Assessment", "2": "Housing Needs Assessment"},
    "PrioritizationStatus": {
        "1": "Placed on prioritization list",
        "2": "Not placed on prioritization list",
    },
    "ReferralResult": {
        "1": "Successful: client accepted",
        "2": "Unsuccessful: client rejected",
        "3": "Unsuccessful: provider rejected",
    },
    "RaceNone": dict(_REASONS),
    "GenderNone": dict(_REASONS),
}

_MONTHS: Final = {str(100 + n): f"{n} month{'s' if n > 1 else ''}" for n in range(1, 13)}


def code_list(spec: ColumnSpec) -> list[tuple[str, str]]:
    """``(code, meaning)`` pairs for a code column, in a stable, human order."""
    labels = dict(_BY_COLUMN.get(spec.name, {}))
    if spec.name == "MonthsHomelessPastThreeYears":
        labels = {**_MONTHS, "113": "More than 12 months", **_REASONS}
    elif not labels and spec.codes <= codes.NO_YES_REASONS:
        labels = {**_NO_YES, **_REASONS}
    elif not labels and spec.codes <= codes.NO_YES_MISSING:
        labels = {**_NO_YES, "99": "Data not collected"}

    def order(code: str) -> tuple[int, str]:
        return (int(code) if code.isdigit() else 10**6, code)

    return [(code, labels.get(code, code)) for code in sorted(spec.codes, key=order)]
