"""HUD HMIS code lists (FY2024 and FY2026) as the text values an intake file carries.

Every list is a ``frozenset[str]`` because validation runs on the all-text frame: a cell is
valid only when it equals one of these strings exactly (``"1"``, never ``"1.0"`` or ``" 1"``).
List numbers follow the HMIS Data Dictionary; the CE lists (4.19, 4.20) are identical in both
years. Sources: hmis-domain.md §1.3 and §9.2.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "ASSESSMENT_LEVEL",
    "ASSESSMENT_TYPE",
    "DATA_QUALITY",
    "DOB_DATA_QUALITY",
    "DQ_REPORTED",
    "EVENT",
    "EVENTS_WITH_CASE_MANAGE_AFTER",
    "EVENTS_WITH_HOUSING_LOCATION",
    "EVENTS_WITH_PROBSOLDIV_RESULT",
    "EVENTS_WITH_REFERRAL_RESULT",
    "HEAD_OF_HOUSEHOLD",
    "HOMELESS_SITUATIONS",
    "INSTITUTIONAL_SITUATIONS",
    "LENGTH_OF_STAY",
    "LIVING_SITUATION",
    "MISSOURI_COCS",
    "MONTHS_HOMELESS",
    "NAME_DATA_QUALITY",
    "NO_YES",
    "NO_YES_MISSING",
    "NO_YES_REASONS",
    "PERMANENT_SITUATIONS",
    "PRIORITIZATION_STATUS",
    "REASONS_MISSING",
    "REFERRAL_RESULT",
    "RELATIONSHIP_TO_HOH",
    "RENTAL_SUBSIDY_TYPE",
    "RENTAL_WITH_SUBSIDY",
    "SEX",
    "SSN_DATA_QUALITY",
    "STAY_UNDER_7_NIGHTS",
    "STAY_UNDER_90_DAYS",
    "TEMPORARY_SITUATIONS",
    "TIMES_HOMELESS",
]


def _codes(values: Iterable[int]) -> frozenset[str]:
    return frozenset(str(value) for value in values)


#: 1.7 No / Yes / Missing.
NO_YES_MISSING = _codes((0, 1, 99))
#: 1.8 No / Yes / Reasons for missing data.
NO_YES_REASONS = _codes((0, 1, 8, 9, 99))
#: 1.10 No / Yes (race and gender option columns, local consent flags).
NO_YES = _codes((0, 1))
#: 1.6 Race-none / Gender-none: Client doesn't know, prefers not to answer, not collected.
REASONS_MISSING = _codes((8, 9, 99))

#: 3.01.5, 3.02.2, 3.03.2 data-quality lists share one shape.
DATA_QUALITY = _codes((1, 2, 8, 9, 99))
NAME_DATA_QUALITY = DATA_QUALITY
SSN_DATA_QUALITY = DATA_QUALITY
DOB_DATA_QUALITY = DATA_QUALITY
#: Data-quality values meaning "a value was reported" (full or partial).
DQ_REPORTED = _codes((1, 2))

#: 4.21 Sex (FY2026).
SEX = _codes((0, 1, 8, 9, 99))

#: 3.15.1 Relationship to head of household.
RELATIONSHIP_TO_HOH = _codes((1, 2, 3, 4, 5, 99))
HEAD_OF_HOUSEHOLD = "1"

#: 3.917.1 Prior living situation (3-digit codes, first digit = category).
HOMELESS_SITUATIONS = _codes((101, 116, 118))
INSTITUTIONAL_SITUATIONS = _codes((204, 205, 206, 207, 215, 225))
TEMPORARY_SITUATIONS = _codes((302, 314, 329, 332, 335, 336))
PERMANENT_SITUATIONS = _codes((410, 411, 421, 435))
LIVING_SITUATION = (
    HOMELESS_SITUATIONS
    | INSTITUTIONAL_SITUATIONS
    | TEMPORARY_SITUATIONS
    | PERMANENT_SITUATIONS
    | REASONS_MISSING
)
#: The one living situation that carries a rental subsidy type (3.917.A).
RENTAL_WITH_SUBSIDY = "435"

#: 3.12.A Rental subsidy type.
RENTAL_SUBSIDY_TYPE = _codes((419, 420, 428, 431, 433, 434, 436, 437, 438, 439, 440))

#: 3.917.2 Length of stay in prior living situation.
LENGTH_OF_STAY = _codes((10, 11, 2, 3, 4, 5, 8, 9, 99))
#: Lengths of stay under 90 days (the institutional branch of 3.917).
STAY_UNDER_90_DAYS = _codes((10, 11, 2, 3))
#: Lengths of stay under 7 nights (the temporary/permanent branch of 3.917).
STAY_UNDER_7_NIGHTS = _codes((10, 11))

#: 3.917.4 Times homeless in the past three years.
TIMES_HOMELESS = _codes((1, 2, 3, 4, 8, 9, 99))
#: 3.917.5 Months homeless in the past three years (101-112 = 1-12 months, 113 = 13+).
MONTHS_HOMELESS = _codes((*range(101, 114), 8, 9, 99))

#: 4.19.3 Assessment type, 4.19.4 level, 4.19.7 prioritization status.
ASSESSMENT_TYPE = _codes((1, 2, 3))
ASSESSMENT_LEVEL = _codes((1, 2))
PRIORITIZATION_STATUS = _codes((1, 2))

#: 4.20.2 Coordinated Entry event.
EVENT = _codes(range(1, 19))
#: 4.20.A only with event 2 (problem solving / diversion).
EVENTS_WITH_PROBSOLDIV_RESULT = _codes((2,))
#: 4.20.B only with event 5 (post-placement / follow-up case management).
EVENTS_WITH_CASE_MANAGE_AFTER = _codes((5,))
#: 4.20.C only with events 10-15 (a bed or unit opening).
EVENTS_WITH_HOUSING_LOCATION = _codes(range(10, 16))
#: 4.20.D only with events 10-15, 17, 18 (referrals to a housing resource).
EVENTS_WITH_REFERRAL_RESULT = _codes((*range(10, 16), 17, 18))
#: 4.20.D Referral result.
REFERRAL_RESULT = _codes((1, 2, 3))

#: HUD CoC codes of Missouri (3.16); the MO Balance of State is MO-606.
MISSOURI_COCS = frozenset(
    ("MO-500", "MO-501", "MO-503", "MO-600", "MO-602", "MO-603", "MO-604", "MO-606")
)
