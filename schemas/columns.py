"""The intake file's column contract: canonical names, order, kinds, header aliases, spec version.

One row per household member. Column names are the HUD HMIS CSV names (FY2026, with FY2024
accepted) plus the local pipeline columns of hmis-domain.md §9.2. This table is the single
source of truth: the pandera models (:mod:`schemas.intake`), the fast validator
(:mod:`schemas.validate`) and the agency template are all built from it.

Two kinds of "required" live here and must not be confused:

* ``header_required``: the column must be in the file's header (else ``FILE-MISSING-COLUMNS``).
  Optional columns (middle name, suffix, free-text extras, the ROI expiry, and the CE
  assessment and event groups) may be left out entirely; a missing optional column reads as
  blank on every row.
* ``value_required``: the cell must be non-blank on every row (``VALUE-REQUIRED``).
  Conditional requirements (EnrollmentCoC for the head of household, RentalSubsidyType with
  435, ...) are cross-field rules in :mod:`schemas.rowrules`, not flags here.

Not in the file: ``ReceivedAt`` (set by the pipeline on pickup) and
``IsVictimServiceProvider`` (from the agency registry, passed in the validation context). An
agency file that carries them gets ``FILE-UNKNOWN-COLUMNS``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Literal

from schemas import codes

__all__ = [
    "ASSESSMENT_COLUMNS",
    "EVENT_COLUMNS",
    "FY2024",
    "FY2026",
    "GENDER_COLUMNS",
    "HISPANIC_FY2024",
    "HISPANIC_FY2026",
    "PIPELINE_COLUMNS",
    "SPEC_VERSIONS",
    "ColumnSpec",
    "HeaderCheck",
    "Kind",
    "SpecVersion",
    "canonical_header",
    "check_header",
    "column_names",
    "column_spec",
    "columns_for",
    "detect_spec_version",
    "fold_header",
    "free_text_columns",
    "optional_columns",
    "race_columns",
    "required_columns",
]

SpecVersion = Literal["FY2026", "FY2024"]
FY2026: Final = "FY2026"
FY2024: Final = "FY2024"
SPEC_VERSIONS: Final[tuple[SpecVersion, ...]] = ("FY2026", "FY2024")

#: What a column holds, which decides its column-level checks.
#: ``id``: a key (no spaces around it, no Excel scientific notation);
#: ``name``: a short person-level string (no line breaks);
#: ``text``: a short non-person string (no line breaks);
#: ``freetext``: a longer note where line breaks are allowed;
#: ``code``: a HUD or local code list; ``date``: ``yyyy-mm-dd``;
#: ``ssn``: 9 characters of digits or ``x``; ``coc``: a HUD CoC code like ``MO-606``.
Kind = Literal["id", "name", "text", "freetext", "code", "date", "ssn", "coc"]


@dataclass(frozen=True)
class ColumnSpec:
    """One intake column.

    ``codes`` is the allowed value set for ``kind="code"`` (blank is allowed unless
    ``value_required``). ``max_length`` counts characters. ``not_future`` dates must be on or
    before the validation day (``ValidationContext.today``).
    """

    name: str
    kind: Kind
    codes: frozenset[str] = frozenset()
    max_length: int | None = None
    header_required: bool = True
    value_required: bool = False
    not_future: bool = False

    @property
    def free_text(self) -> bool:
        """Line breaks are allowed only in free-text columns."""
        return self.kind == "freetext"


def _id(name: str, *, max_length: int = 32) -> ColumnSpec:
    return ColumnSpec(name, "id", max_length=max_length, value_required=True)


def _code(name: str, values: frozenset[str], *, required: bool, header: bool = True) -> ColumnSpec:
    return ColumnSpec(name, "code", codes=values, value_required=required, header_required=header)


def _date(
    name: str, *, required: bool = False, header: bool = True, not_future: bool = True
) -> ColumnSpec:
    return ColumnSpec(
        name, "date", value_required=required, header_required=header, not_future=not_future
    )


#: Local pipeline columns (§9.2 "Handoff/local columns").
PIPELINE_COLUMNS: Final[tuple[ColumnSpec, ...]] = (
    _id("IntakeID"),
    _id("SubmittingAgencyID"),
    _date("IntakeDate", required=True),
    ColumnSpec("CollectedByUser", "text", max_length=64, value_required=True),
    _code("ROIConsent", codes.NO_YES, required=True),
    _date("ROISignedDate"),
    _date("ROIExpirationDate", header=False, not_future=False),
    _code("HMISConsent", codes.NO_YES, required=True),
    _id("HouseholdID"),
)

_NAME_COLUMNS: Final = (
    ColumnSpec("FirstName", "name", max_length=50),
    ColumnSpec("MiddleName", "name", max_length=50, header_required=False),
    ColumnSpec("LastName", "name", max_length=50),
    ColumnSpec("NameSuffix", "name", max_length=50, header_required=False),
    _code("NameDataQuality", codes.NAME_DATA_QUALITY, required=True),
    ColumnSpec("SSN", "ssn"),
    _code("SSNDataQuality", codes.SSN_DATA_QUALITY, required=True),
    _date("DOB"),
    _code("DOBDataQuality", codes.DOB_DATA_QUALITY, required=True),
)

#: Race columns that are the same in both years (3.04), in HUD CSV order around the
#: Hispanic column, which changed its name in FY2026.
_RACE_BEFORE_HISPANIC: Final = ("AmIndAKNative", "Asian", "BlackAfAmerican")
_RACE_AFTER_HISPANIC: Final = ("MidEastNAfrican", "NativeHIPacific", "White")
HISPANIC_FY2026: Final = "HispanicLatinao"
HISPANIC_FY2024: Final = "HispanicLatinaeo"

#: FY2024 gender option columns (3.06, retired in FY2026), HUD CSV order.
GENDER_COLUMNS: Final[tuple[str, ...]] = (
    "Woman",
    "Man",
    "NonBinary",
    "CulturallySpecific",
    "Transgender",
    "Questioning",
    "DifferentIdentity",
)


def _race(spec_version: SpecVersion) -> tuple[ColumnSpec, ...]:
    hispanic = HISPANIC_FY2026 if spec_version == FY2026 else HISPANIC_FY2024
    names = (*_RACE_BEFORE_HISPANIC, hispanic, *_RACE_AFTER_HISPANIC)
    return (
        *(_code(name, codes.NO_YES, required=True) for name in names),
        _code("RaceNone", codes.REASONS_MISSING, required=False),
        ColumnSpec("AdditionalRaceEthnicity", "freetext", max_length=100, header_required=False),
    )


_SEX: Final = (_code("Sex", codes.SEX, required=False),)

_GENDER: Final = (
    *(_code(name, codes.NO_YES, required=True) for name in GENDER_COLUMNS),
    _code("GenderNone", codes.REASONS_MISSING, required=False),
    ColumnSpec("DifferentIdentityText", "freetext", max_length=100, header_required=False),
)

_ENROLLMENT_COLUMNS: Final = (
    _code("VeteranStatus", codes.NO_YES_REASONS, required=True),
    _date("EntryDate", required=True),
    _code("RelationshipToHoH", codes.RELATIONSHIP_TO_HOH, required=True),
    ColumnSpec("EnrollmentCoC", "coc", max_length=6),
    _code("DisablingCondition", codes.NO_YES_REASONS, required=True),
    _code("LivingSituation", codes.LIVING_SITUATION, required=False),
    _code("RentalSubsidyType", codes.RENTAL_SUBSIDY_TYPE, required=False),
    _code("LengthOfStay", codes.LENGTH_OF_STAY, required=False),
    _code("LOSUnderThreshold", codes.NO_YES_MISSING, required=False),
    _code("PreviousStreetESSH", codes.NO_YES_MISSING, required=False),
    # Approximate start of this homeless episode: may be long ago, never in the future.
    _date("DateToStreetESSH"),
    _code("TimesHomelessPastThreeYears", codes.TIMES_HOMELESS, required=False),
    _code("MonthsHomelessPastThreeYears", codes.MONTHS_HOMELESS, required=False),
)

#: 4.19 Coordinated Entry assessment: all-or-nothing per row (see ``ASSESSMENT-INCOMPLETE``).
ASSESSMENT_COLUMNS: Final[tuple[ColumnSpec, ...]] = (
    _date("AssessmentDate", header=False),
    ColumnSpec("AssessmentLocation", "freetext", max_length=250, header_required=False),
    _code("AssessmentType", codes.ASSESSMENT_TYPE, required=False, header=False),
    _code("AssessmentLevel", codes.ASSESSMENT_LEVEL, required=False, header=False),
    _code("PrioritizationStatus", codes.PRIORITIZATION_STATUS, required=False, header=False),
)

#: 4.20 Coordinated Entry event: EventDate and Event required once any event cell is filled.
EVENT_COLUMNS: Final[tuple[ColumnSpec, ...]] = (
    _date("EventDate", header=False),
    _code("Event", codes.EVENT, required=False, header=False),
    _code("ProbSolDivRRResult", codes.NO_YES_MISSING, required=False, header=False),
    _code("ReferralCaseManageAfter", codes.NO_YES_MISSING, required=False, header=False),
    ColumnSpec("LocationCrisisOrPHHousing", "freetext", max_length=250, header_required=False),
    _code("ReferralResult", codes.REFERRAL_RESULT, required=False, header=False),
    _date("ResultDate", header=False),
)


def _build(spec_version: SpecVersion) -> tuple[ColumnSpec, ...]:
    identity = _SEX if spec_version == FY2026 else ()
    gender = _GENDER if spec_version == FY2024 else ()
    return (
        *PIPELINE_COLUMNS,
        *_NAME_COLUMNS,
        *identity,
        *_race(spec_version),
        *gender,
        *_ENROLLMENT_COLUMNS,
        *ASSESSMENT_COLUMNS,
        *EVENT_COLUMNS,
    )


_SPECS: Final[dict[SpecVersion, tuple[ColumnSpec, ...]]] = {v: _build(v) for v in SPEC_VERSIONS}
_BY_NAME: Final[dict[SpecVersion, dict[str, ColumnSpec]]] = {
    v: {c.name: c for c in specs} for v, specs in _SPECS.items()
}


def columns_for(spec_version: SpecVersion) -> tuple[ColumnSpec, ...]:
    """Every column of ``spec_version`` in canonical (template and delivery) order."""
    return _SPECS[spec_version]


def column_spec(spec_version: SpecVersion, name: str) -> ColumnSpec:
    """The spec of one canonical column; ``KeyError`` (naming the column) if unknown."""
    return _BY_NAME[spec_version][name]


def column_names(spec_version: SpecVersion) -> tuple[str, ...]:
    """Canonical column names in canonical order."""
    return tuple(c.name for c in _SPECS[spec_version])


def required_columns(spec_version: SpecVersion) -> tuple[str, ...]:
    """Columns that must be in the header."""
    return tuple(c.name for c in _SPECS[spec_version] if c.header_required)


def optional_columns(spec_version: SpecVersion) -> tuple[str, ...]:
    """Columns that may be left out of the header (read as blank)."""
    return tuple(c.name for c in _SPECS[spec_version] if not c.header_required)


def free_text_columns(spec_version: SpecVersion) -> tuple[str, ...]:
    """Columns where a line break inside a cell is legitimate."""
    return tuple(c.name for c in _SPECS[spec_version] if c.free_text)


def race_columns(spec_version: SpecVersion) -> tuple[str, ...]:
    """The seven 0/1 race and ethnicity columns of ``spec_version``."""
    hispanic = HISPANIC_FY2026 if spec_version == FY2026 else HISPANIC_FY2024
    return (*_RACE_BEFORE_HISPANIC, hispanic, *_RACE_AFTER_HISPANIC)


# Header normalisation ---------------------------------------------------------------

# Characters a spreadsheet or a person adds to a header without meaning anything by it.
_INVISIBLE = dict.fromkeys(map(ord, "\ufeff\u200b\u200c\u200d\u2060\u00ad"), None)
_SEPARATORS = re.compile(r"[\s_\-./#:()?*]+")


def fold_header(raw: str) -> str:
    """The comparison key of a header: NFKC, invisible characters and separators removed,
    case-folded. ``" SSN # "``, ``"ssn"`` and ``"S_S_N"`` all fold to ``"ssn"``."""
    text = unicodedata.normalize("NFKC", raw).translate(_INVISIBLE)
    return _SEPARATORS.sub("", text).casefold()


_ALIASES: Final[Mapping[str, str]] = {
    # Spreadsheet-friendly spellings agencies use; keys are folded.
    "dateofbirth": "DOB",
    "birthdate": "DOB",
    "dateofbirthdob": "DOB",
    "socialsecuritynumber": "SSN",
    "socialsecurity": "SSN",
    "ssnnumber": "SSN",
    "ssnno": "SSN",
    "first": "FirstName",
    "givenname": "FirstName",
    "last": "LastName",
    "surname": "LastName",
    "familyname": "LastName",
    "middle": "MiddleName",
    "suffix": "NameSuffix",
    "namedq": "NameDataQuality",
    "ssndq": "SSNDataQuality",
    "dobdq": "DOBDataQuality",
    "veteran": "VeteranStatus",
    "relationshiptoheadofhousehold": "RelationshipToHoH",
    "relationship": "RelationshipToHoH",
    "household": "HouseholdID",
    "agencyid": "SubmittingAgencyID",
    "agency": "SubmittingAgencyID",
    "submittingagency": "SubmittingAgencyID",
    "dateofintake": "IntakeDate",
    "collectedby": "CollectedByUser",
    "assessor": "CollectedByUser",
    "intakeworker": "CollectedByUser",
    "roi": "ROIConsent",
    "releaseofinformation": "ROIConsent",
    "roisigned": "ROISignedDate",
    "roidate": "ROISignedDate",
    "roiexpiration": "ROIExpirationDate",
    "roiexpires": "ROIExpirationDate",
    "projectstartdate": "EntryDate",
    "startdate": "EntryDate",
    "coc": "EnrollmentCoC",
    "coccode": "EnrollmentCoC",
    "clientlocation": "EnrollmentCoC",
    "priorlivingsituation": "LivingSituation",
}


def _canonical_map() -> dict[str, str]:
    table: dict[str, str] = {}
    for spec_version in SPEC_VERSIONS:
        for name in column_names(spec_version):
            table[fold_header(name)] = name
    for alias, name in _ALIASES.items():
        # An alias must never shadow a real column name.
        table.setdefault(alias, name)
    return table


_CANONICAL: Final[dict[str, str]] = _canonical_map()


def canonical_header(raw: str) -> str | None:
    """The canonical column name for a raw header cell, or ``None`` if it is not ours.

    Matching ignores case, spaces, underscores, hyphens, dots, ``#``, ``/`` and invisible
    characters (BOM, zero-width), after Unicode NFKC: ``"Date of Birth"`` → ``"DOB"``,
    ``"SSN #"`` → ``"SSN"``, ``"First Name"`` → ``"FirstName"``, ``"Hispanic/Latina/o"`` →
    ``"HispanicLatinao"``. Both years' names are recognised; :func:`detect_spec_version`
    decides which set applies.
    """
    return _CANONICAL.get(fold_header(raw))


def detect_spec_version(headers: Iterable[str]) -> SpecVersion:
    """FY2026 or FY2024, from the header alone.

    ``HispanicLatinao`` means FY2026; otherwise ``HispanicLatinaeo`` or any FY2024 gender
    column means FY2024; otherwise ``Sex`` means FY2026; with none of these the current
    standard (FY2026) applies and its missing columns are reported. Headers may be raw or
    canonical. A file mixing both years is treated as FY2026, so its gender columns come
    back as unknown columns rather than being silently accepted.
    """
    names = {canonical_header(h) or h for h in headers}
    if HISPANIC_FY2026 in names:
        return FY2026
    if HISPANIC_FY2024 in names or names.intersection((*GENDER_COLUMNS, "GenderNone")):
        return FY2024
    return FY2026


@dataclass(frozen=True)
class HeaderCheck:
    """Result of comparing canonical headers with a spec version.

    ``missing`` and ``duplicated`` hold canonical column names (ours, safe to show).
    ``unknown`` holds 1-based column *positions*, never the header text: a file without a
    header row puts its first client's name and SSN where the header should be.
    """

    missing: tuple[str, ...]
    unknown: tuple[int, ...]
    duplicated: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unknown or self.duplicated)


def check_header(headers: Iterable[str | None], spec_version: SpecVersion) -> HeaderCheck:
    """Missing required, unknown and repeated columns among canonical ``headers``.

    ``headers`` are the canonical names in file order, ``None`` where
    :func:`canonical_header` did not recognise a header cell.
    """
    known = _BY_NAME[spec_version]
    seen: set[str] = set()
    duplicated: list[str] = []
    unknown: list[int] = []
    for position, name in enumerate(headers, start=1):
        if name is None or name not in known:
            unknown.append(position)
            continue
        if name in seen and name not in duplicated:
            duplicated.append(name)
        seen.add(name)
    return HeaderCheck(
        missing=tuple(n for n in required_columns(spec_version) if n not in seen),
        unknown=tuple(unknown),
        duplicated=tuple(duplicated),
    )
