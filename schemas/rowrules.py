"""Cross-field rules within one row (hmis-domain.md §9.2, §9.3 items 2-6 and 8), vectorised.

Input is the column-level verdicts of :mod:`schemas.cells`; output is ``(rule id, column,
rows)`` hits. A rule only looks at cells that passed their own column checks, so a bad
date is reported once (as a date problem), not again as every rule that uses it.

Age is whole years at EntryDate. "Adult" means 18 or over at entry; when the age is unknown
(no valid DOB or EntryDate) the row is treated as an adult for the questions HUD asks of
adults, because that is the safe side for a head of household with a missing DOB.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Final

import numpy as np
import pandas as pd

from schemas import codes
from schemas.cells import BoolArray, CodeArray, ColumnCheck, DayArray, IntArray
from schemas.columns import (
    ASSESSMENT_COLUMNS,
    EVENT_COLUMNS,
    FY2024,
    FY2026,
    GENDER_COLUMNS,
    SpecVersion,
    columns_for,
    race_columns,
)

if TYPE_CHECKING:
    from schemas.validate import ValidationContext

__all__ = [
    "ConsentGate",
    "Hit",
    "Parsed",
    "People",
    "age_at",
    "all_row_rules",
    "consent_gate",
    "context_rules",
    "coordinated_entry_rules",
    "demographic_rules",
    "enrollment_rules",
    "homeless_history_rules",
    "identity_rules",
    "people",
]

Hit = tuple[str, str, BoolArray]

_MISSING: Final = (8, 9, 99)


@dataclass(frozen=True)
class Parsed:
    """One chunk's column verdicts plus the raw text of the few columns compared as text."""

    spec_version: SpecVersion
    rows: int
    checks: Mapping[str, ColumnCheck]
    text: Mapping[str, pd.Series]

    def blank(self, name: str) -> BoolArray:
        return self.checks[name].blank

    def present(self, name: str) -> BoolArray:
        return ~self.checks[name].blank

    def valid(self, name: str) -> BoolArray:
        return self.checks[name].valid

    def code(self, name: str) -> CodeArray:
        integers = self.checks[name].integers
        if integers is None:
            raise TypeError(f"column {name} is not a code column")
        return integers

    def day(self, name: str) -> DayArray:
        days = self.checks[name].days
        if days is None:
            raise TypeError(f"column {name} is not a date column")
        return days

    def is_code(self, name: str, *values: int) -> BoolArray:
        return np.isin(self.code(name), values)


def _as_day(value: date) -> np.datetime64:
    return np.datetime64(value, "D")


def _month_day(days: DayArray) -> tuple[IntArray, IntArray]:
    years = days.astype("datetime64[Y]")
    months = days.astype("datetime64[M]")
    month_of_year = (months - years.astype("datetime64[M]")).astype(np.int64)
    day_of_month = (days - months.astype("datetime64[D]")).astype(np.int64)
    return years.astype(np.int64), month_of_year * 100 + day_of_month


def age_at(birth: DayArray, on: DayArray) -> tuple[BoolArray, IntArray]:
    """``(known, whole years)`` from ``birth`` to ``on``; years is meaningless where unknown."""
    known = ~np.isnat(birth) & ~np.isnat(on)
    birth_year, birth_md = _month_day(np.where(known, birth, on))
    on_year, on_md = _month_day(np.where(known, on, birth))
    years = on_year - birth_year - (on_md < birth_md).astype(np.int64)
    return known, np.where(known, years, 0)


@dataclass(frozen=True)
class People:
    """Who each row is, as far as the rules care."""

    is_hoh: BoolArray
    age_known: BoolArray
    age: IntArray

    @property
    def minor(self) -> BoolArray:
        return self.age_known & (self.age < 18)

    @property
    def adult_or_unknown(self) -> BoolArray:
        return ~self.minor


def people(parsed: Parsed) -> People:
    known, years = age_at(parsed.day("DOB"), parsed.day("EntryDate"))
    is_hoh = parsed.code("RelationshipToHoH") == int(codes.HEAD_OF_HOUSEHOLD)
    return People(is_hoh=is_hoh, age_known=known, age=years)


def _dq_mismatch(parsed: Parsed, dq_column: str, value_present: BoolArray) -> BoolArray:
    reported = parsed.is_code(dq_column, 1, 2)
    missing = parsed.is_code(dq_column, *_MISSING)
    return (reported & ~value_present) | (missing & value_present)


def identity_rules(parsed: Parsed, who: People) -> list[Hit]:
    """Name, SSN and DOB against their data-quality codes; DOB plausibility; veteran age."""
    first, last = parsed.present("FirstName"), parsed.present("LastName")
    name_dq = parsed.code("NameDataQuality")
    name_bad = (
        ((name_dq == 1) & ~(first & last))
        | ((name_dq == 2) & ~(first | last))
        | (np.isin(name_dq, _MISSING) & (first | last))
    )
    ssn_present = parsed.present("SSN")
    ssn_partial = parsed.checks["SSN"].partial_ssn
    partial = ssn_partial if ssn_partial is not None else np.zeros(parsed.rows, dtype=bool)
    dob, entry = parsed.day("DOB"), parsed.day("EntryDate")
    both = ~np.isnat(dob) & ~np.isnat(entry)
    dob_after_entry = both & ((dob > entry) | (who.is_hoh & (dob >= entry)))
    return [
        ("NAME-DQ-MISMATCH", "NameDataQuality", name_bad),
        ("SSN-DQ-MISMATCH", "SSNDataQuality", _dq_mismatch(parsed, "SSNDataQuality", ssn_present)),
        ("SSN-PARTIAL-DQ", "SSN", partial & (parsed.code("SSNDataQuality") == 1)),
        (
            "DOB-DQ-MISMATCH",
            "DOBDataQuality",
            _dq_mismatch(parsed, "DOBDataQuality", parsed.present("DOB")),
        ),
        ("DOB-AFTER-ENTRY", "DOB", dob_after_entry),
        ("AGE-OVER-100", "DOB", who.age_known & (who.age > 100)),
        ("VETERAN-MINOR", "VeteranStatus", who.minor & (parsed.code("VeteranStatus") == 1)),
    ]


def _none_mismatch(parsed: Parsed, options: tuple[str, ...], none_column: str) -> BoolArray:
    values = np.stack([parsed.code(name) for name in options])
    all_valid = np.stack([parsed.valid(name) for name in options]).all(axis=0)
    any_yes = (values == 1).any(axis=0)
    all_no = (values == 0).all(axis=0)
    none_given = parsed.present(none_column)
    return np.asarray(all_valid & ((any_yes & none_given) | (all_no & ~none_given)), dtype=bool)


def demographic_rules(parsed: Parsed) -> list[Hit]:
    """Race/RaceNone exclusivity; FY2026 Sex; FY2024 gender columns."""
    hits: list[Hit] = [
        (
            "RACE-NONE-MISMATCH",
            "RaceNone",
            _none_mismatch(parsed, race_columns(parsed.spec_version), "RaceNone"),
        )
    ]
    if parsed.spec_version == FY2026:
        hits.append(("SEX-MISSING", "Sex", parsed.blank("Sex")))
    if parsed.spec_version == FY2024:
        hits.append(
            (
                "GENDER-NONE-MISMATCH",
                "GenderNone",
                _none_mismatch(parsed, GENDER_COLUMNS, "GenderNone"),
            )
        )
        different = parsed.code("DifferentIdentity")
        text_given = parsed.present("DifferentIdentityText")
        hits.append(
            (
                "GENDER-TEXT-MISMATCH",
                "DifferentIdentityText",
                ((different == 1) & ~text_given) | ((different == 0) & text_given),
            )
        )
    return hits


def enrollment_rules(parsed: Parsed, who: People, expected_coc: str) -> list[Hit]:
    """Entry date, relationship, CoC, prior living situation (3.917 branching)."""
    entry, intake = parsed.day("EntryDate"), parsed.day("IntakeDate")
    coc_valid = parsed.valid("EnrollmentCoC")
    coc_unexpected = coc_valid & ~parsed.checks["EnrollmentCoC"].equals(expected_coc)
    asked = who.is_hoh | who.adult_or_unknown
    situation = parsed.code("LivingSituation")
    subsidy_given = parsed.present("RentalSubsidyType")
    situation_known = parsed.valid("LivingSituation") | parsed.blank("LivingSituation")
    hits: list[Hit] = [
        (
            "ENTRY-DATE-NOT-INTAKE-DATE",
            "EntryDate",
            ~np.isnat(entry) & ~np.isnat(intake) & (entry != intake),
        ),
        ("HOH-RELATIONSHIP-99", "RelationshipToHoH", parsed.code("RelationshipToHoH") == 99),
        ("COC-REQUIRED-HOH", "EnrollmentCoC", who.is_hoh & parsed.blank("EnrollmentCoC")),
        ("COC-UNEXPECTED", "EnrollmentCoC", coc_unexpected),
        ("LIVING-SITUATION-REQUIRED", "LivingSituation", asked & parsed.blank("LivingSituation")),
        (
            "RENTAL-SUBSIDY-REQUIRED",
            "RentalSubsidyType",
            (situation == int(codes.RENTAL_WITH_SUBSIDY)) & ~subsidy_given,
        ),
        (
            "RENTAL-SUBSIDY-NOT-APPLICABLE",
            "RentalSubsidyType",
            situation_known & (situation != int(codes.RENTAL_WITH_SUBSIDY)) & subsidy_given,
        ),
    ]
    hits += _prior_living_branches(parsed, asked & parsed.valid("LivingSituation"))
    street = parsed.day("DateToStreetESSH")
    hits.append(
        (
            "DATE-TO-STREET-AFTER-ENTRY",
            "DateToStreetESSH",
            ~np.isnat(street) & ~np.isnat(entry) & (street > entry),
        )
    )
    return hits


def _prior_living_branches(parsed: Parsed, asked: BoolArray) -> list[Hit]:
    """3.917 completeness as Eva checks it (hmis-domain.md §1.3), as warnings."""
    situation = parsed.code("LivingSituation")
    category = np.where(situation >= 100, situation // 100, 0)
    stay = parsed.code("LengthOfStay")
    homeless = asked & (category == 1)
    institutional_short = asked & (category == 2) & np.isin(stay, (10, 11, 2, 3))
    housed_short = asked & np.isin(category, (3, 4)) & np.isin(stay, (10, 11))
    branch = institutional_short | housed_short
    went_to_street = (
        branch & (parsed.code("LOSUnderThreshold") == 1) & (parsed.code("PreviousStreetESSH") == 1)
    )
    history_expected = homeless | went_to_street
    required = {
        "LengthOfStay": asked & (category > 0),
        "LOSUnderThreshold": branch,
        "PreviousStreetESSH": branch,
        "DateToStreetESSH": history_expected,
        "TimesHomelessPastThreeYears": history_expected,
        "MonthsHomelessPastThreeYears": history_expected,
    }
    return [
        ("PRIOR-LIVING-INCOMPLETE", column, expected & parsed.blank(column))
        for column, expected in required.items()
    ]


def coordinated_entry_rules(parsed: Parsed) -> list[Hit]:
    """4.19 assessment all-or-nothing; 4.20 event required and conditional fields."""
    entry = parsed.day("EntryDate")
    hits: list[Hit] = []
    assessment = [c.name for c in ASSESSMENT_COLUMNS]
    any_assessment = np.stack([parsed.present(c) for c in assessment]).any(axis=0)
    hits += [("ASSESSMENT-INCOMPLETE", c, any_assessment & parsed.blank(c)) for c in assessment]
    assessed = parsed.day("AssessmentDate")
    hits.append(
        (
            "ASSESSMENT-DATE-BEFORE-ENTRY",
            "AssessmentDate",
            ~np.isnat(assessed) & ~np.isnat(entry) & (assessed < entry),
        )
    )
    event_columns = [c.name for c in EVENT_COLUMNS]
    any_event = np.stack([parsed.present(c) for c in event_columns]).any(axis=0)
    hits += [("EVENT-INCOMPLETE", c, any_event & parsed.blank(c)) for c in ("EventDate", "Event")]
    event_day = parsed.day("EventDate")
    hits.append(
        (
            "EVENT-DATE-BEFORE-ENTRY",
            "EventDate",
            ~np.isnat(event_day) & ~np.isnat(entry) & (event_day < entry),
        )
    )
    event = parsed.code("Event")
    event_known = parsed.valid("Event")
    only_with = {
        "ProbSolDivRRResult": codes.EVENTS_WITH_PROBSOLDIV_RESULT,
        "ReferralCaseManageAfter": codes.EVENTS_WITH_CASE_MANAGE_AFTER,
        "LocationCrisisOrPHHousing": codes.EVENTS_WITH_HOUSING_LOCATION,
        "ReferralResult": codes.EVENTS_WITH_REFERRAL_RESULT,
    }
    for column, events in only_with.items():
        allowed = np.isin(event, [int(e) for e in events])
        hits.append(
            ("EVENT-FIELD-NOT-APPLICABLE", column, event_known & ~allowed & parsed.present(column))
        )
    result_given = parsed.present("ReferralResult")
    result_day = parsed.day("ResultDate")
    hits += [
        (
            "EVENT-FIELD-NOT-APPLICABLE",
            "ResultDate",
            parsed.present("ResultDate") & ~result_given,
        ),
        (
            "EVENT-RESULT-DATE-REQUIRED",
            "ResultDate",
            parsed.valid("ReferralResult") & parsed.blank("ResultDate"),
        ),
        (
            "EVENT-RESULT-DATE-BEFORE-EVENT",
            "ResultDate",
            ~np.isnat(result_day) & ~np.isnat(event_day) & (result_day < event_day),
        ),
    ]
    return hits


def context_rules(
    parsed: Parsed, context: ValidationContext, date_columns: tuple[str, ...]
) -> list[Hit]:
    """Rules judged against the validation context: agency, history, today."""
    today = _as_day(context.today)
    agency = parsed.text["SubmittingAgencyID"]
    intake_ids = parsed.text["IntakeID"]
    hits: list[Hit] = [
        (
            "AGENCY-MISMATCH",
            "SubmittingAgencyID",
            parsed.valid("SubmittingAgencyID")
            & np.asarray(agency != context.agency_id, dtype=bool),
        ),
        (
            "INTAKE-ID-ALREADY-SENT",
            "IntakeID",
            parsed.valid("IntakeID")
            & np.asarray(intake_ids.isin(context.previously_sent), dtype=bool),
        ),
        (
            "ROI-DATE-REQUIRED",
            "ROISignedDate",
            (parsed.code("ROIConsent") == 1) & parsed.blank("ROISignedDate"),
        ),
    ]
    hits += [("DATE-FUTURE", name, parsed.day(name) > today) for name in date_columns]
    return hits


@dataclass(frozen=True)
class ConsentGate:
    """Rows whose identifying data may leave the agency, and why the others may not."""

    roi_missing: BoolArray
    roi_expired: BoolArray

    @property
    def transmittable(self) -> BoolArray:
        return ~(self.roi_missing | self.roi_expired)


def consent_gate(parsed: Parsed, today: date) -> ConsentGate:
    """§9.3 item 8: ROIConsent 1, signed on or before the intake date and not in the future,
    and not expired (an expiry date, if given, on or after both the intake date and today:
    sharing happens now, so an ROI that lapsed since the intake no longer covers it)."""
    day = _as_day(today)
    intake = parsed.day("IntakeDate")
    signed = parsed.day("ROISignedDate")
    expires = parsed.day("ROIExpirationDate")
    consented = (
        (parsed.code("ROIConsent") == 1)
        & ~np.isnat(signed)
        & ~np.isnat(intake)
        & (signed <= intake)
        & (signed <= day)
    )
    no_expiry = parsed.blank("ROIExpirationDate")
    current = no_expiry | (~np.isnat(expires) & (expires >= intake) & (expires >= day))
    return ConsentGate(roi_missing=~consented, roi_expired=consented & ~current)


def _three_years_after(days: DayArray) -> DayArray:
    """The same calendar day three years later (NaT stays NaT; Feb 29 rolls to Mar 1)."""
    months = days.astype("datetime64[M]")
    offset = days - months.astype("datetime64[D]")
    return np.asarray((months + 36).astype("datetime64[D]") + offset, dtype="datetime64[D]")


def homeless_history_rules(parsed: Parsed, who: People) -> list[Hit]:
    """HUD's Eva data-quality warnings on 3.917 and other intake answers (EvaChecks ids in
    brackets), all warnings: the row is sent and the agency is asked to check. Like Eva,
    the 3.917 checks apply to heads of household and adults.

    * ``HOMELESS-START-OVER-3-YEARS`` [105]: DateToStreetESSH three or more years before
      EntryDate means one episode lasting over 12 months, so TimesHomelessPastThreeYears
      should be 1 and MonthsHomelessPastThreeYears 112 or 113 (Eva's threshold).
    * ``MONTHS-HOMELESS-MISMATCH`` [71]: one time homeless, start date known, but the months
      do not match the calendar months from DateToStreetESSH to EntryDate (both counted,
      capped at 13 = "more than 12", as Eva counts them).
    * ``MONTHS-HOMELESS-CAN-BE-DETERMINED`` [70]: one time homeless with a known start date,
      but the months answered 8, 9 or 99.
    * ``HOMELESS-HISTORY-UNKNOWN`` [61], ``DISABLING-CONDITION-UNKNOWN`` [32]: answered
      8, 9 or 99. (Eva's "Unknown DOB" [60] is left out: DOBDataQuality 8/9/99 with a blank
      DOB is the intake's documented way to record it, and passes cleanly.)
    """
    entry, street = parsed.day("EntryDate"), parsed.day("DateToStreetESSH")
    times, months = (
        parsed.code("TimesHomelessPastThreeYears"),
        parsed.code("MonthsHomelessPastThreeYears"),
    )
    asked = who.is_hoh | who.adult_or_unknown
    known_start = asked & ~np.isnat(street) & ~np.isnat(entry) & (street <= entry)
    over_three = known_start & (_three_years_after(street) <= entry)
    month_span = (
        entry.astype("datetime64[M]").astype(np.int64)
        - street.astype("datetime64[M]").astype(np.int64)
        + 1
    )
    expected_months = 100 + np.minimum(month_span, 13)
    once = times == 1
    months_given = (months >= 101) & (months <= 113)
    months_unknown = np.isin(months, _MISSING)
    can_determine = once & known_start & months_unknown
    return [
        (
            "HOMELESS-START-OVER-3-YEARS",
            "TimesHomelessPastThreeYears",
            over_three & np.isin(times, (2, 3, 4)),
        ),
        (
            "HOMELESS-START-OVER-3-YEARS",
            "MonthsHomelessPastThreeYears",
            over_three & months_given & (months < 112),
        ),
        (
            "MONTHS-HOMELESS-MISMATCH",
            "MonthsHomelessPastThreeYears",
            once & known_start & ~over_three & months_given & (months != expected_months),
        ),
        ("MONTHS-HOMELESS-CAN-BE-DETERMINED", "MonthsHomelessPastThreeYears", can_determine),
        (
            "HOMELESS-HISTORY-UNKNOWN",
            "TimesHomelessPastThreeYears",
            asked & np.isin(times, _MISSING),
        ),
        (
            "HOMELESS-HISTORY-UNKNOWN",
            "MonthsHomelessPastThreeYears",
            asked & months_unknown & ~can_determine,
        ),
        (
            "DISABLING-CONDITION-UNKNOWN",
            "DisablingCondition",
            parsed.is_code("DisablingCondition", *_MISSING),
        ),
    ]


def all_row_rules(parsed: Parsed, who: People, context: ValidationContext) -> list[Hit]:
    """Every within-row cross-field and context rule for one chunk."""
    future = tuple(
        c.name for c in columns_for(parsed.spec_version) if c.kind == "date" and c.not_future
    )
    return [
        *identity_rules(parsed, who),
        *demographic_rules(parsed),
        *enrollment_rules(parsed, who, context.expected_coc),
        *coordinated_entry_rules(parsed),
        *homeless_history_rules(parsed, who),
        *context_rules(parsed, context, future),
    ]
