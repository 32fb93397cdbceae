"""The rule catalogue: every check's stable id, severity, title and agency-facing guidance.

A rule id is a contract: reports, the ledger and the agency's own notes refer to it, so an
id is never renamed or reused; retire it instead. Titles and guidance are fixed text written
for agency staff who work in Excel. They say what to change and never quote a value.

Severity decides what happens to a row (or file):

* ``error``: the row is not sent to the data partner (a file-scope error turns back the
  whole file); the agency fixes it and sends the row again.
* ``warning``: the row is sent and the agency's report lists the point to improve.
* ``info``: the row is not sent and nothing is wrong with it (it was already sent with
  exactly this content); the report says so, and it is not counted as held back.

Scopes: ``file`` rules come from the reader and the pipeline (the whole file); ``row`` and
``household`` rules come from the validator as :class:`~schemas.validate.Problem` records;
``gate`` rules never appear as problems. They are the reasons in
``ValidationOutcome.not_transmittable``: the row is valid, but its identifying data must not
leave the agency (no release of information, or a victim service provider).

Severity policy (hmis-domain.md §9.3 item 9): an error is something the partner cannot key
correctly into HMIS, a contradiction in keys, identity fields or dates, or a value HUD's
format forbids; a warning is a data-quality gap the partner can still work with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal

__all__ = [
    "FILE_RULE_IDS",
    "GATE_RULE_IDS",
    "RULES",
    "Rule",
    "Scope",
    "Severity",
    "rule",
    "severity_of",
]

Severity = Literal["error", "warning", "info"]
Scope = Literal["file", "row", "household", "gate"]


@dataclass(frozen=True)
class Rule:
    """One catalogue entry. ``guidance`` is plain language for agency staff."""

    id: str
    severity: Severity
    scope: Scope
    title: str
    guidance: str


_FILE: Final[tuple[tuple[str, str, str], ...]] = (
    (
        "FILE-EMPTY",
        "The file is empty",
        "The file has no content at all. Save the intake sheet again and drop the saved file "
        "into your folder.",
    ),
    (
        "FILE-NO-ROWS",
        "The file has a header row but no clients",
        "Only the column names arrived. Add one row per household member under the header "
        "row, save, and send the file again.",
    ),
    (
        "FILE-ENCODING",
        "The file's text encoding is not recognised",
        "In Excel use File > Save As and choose 'CSV UTF-8 (Comma delimited)', then send "
        "that file.",
    ),
    (
        "FILE-BINARY",
        "This is not a CSV or Excel file",
        "The file does not contain readable text or a workbook. Send the intake sheet as a "
        ".csv (CSV UTF-8) or .xlsx file.",
    ),
    (
        "FILE-UNSUPPORTED-TYPE",
        "This file type is not accepted",
        "Only .csv and .xlsx files are accepted. Old .xls workbooks must be saved as .xlsx "
        "(File > Save As > Excel Workbook).",
    ),
    (
        "FILE-BAD-TYPE",
        "This kind of file cannot be processed",
        "Only intake sheets saved as .xlsx or as CSV UTF-8 (.csv) are accepted. In Excel use "
        "File > Save As, choose 'Excel Workbook (.xlsx)' or 'CSV UTF-8 (Comma delimited)', "
        "and drop the saved file into your folder.",
    ),
    (
        "FILE-TOO-LARGE",
        "The file is larger than allowed",
        "Split the intakes into several smaller files and send them separately.",
    ),
    (
        "FILE-TOO-MANY-ROWS",
        "The file has more rows than allowed",
        "Split the intakes into several smaller files and send them separately.",
    ),
    (
        "FILE-SEPARATOR",
        "The columns are not separated by commas",
        "Save the file from Excel as 'CSV UTF-8 (Comma delimited)' so each column is "
        "separated by a comma.",
    ),
    (
        "FILE-DUPLICATE-HEADER",
        "A column name appears twice",
        "Each column may appear only once. Delete or rename the repeated column in the "
        "header row (row 1).",
    ),
    (
        "FILE-BLANK-HEADER",
        "A column has no name",
        "Every column in row 1 needs its name from the template. Delete empty columns or "
        "give them the right name.",
    ),
    (
        "FILE-MISSING-COLUMNS",
        "Required columns are missing",
        "Start from the current intake template: it has every required column. The report "
        "lists which columns are missing.",
    ),
    (
        "FILE-UNKNOWN-COLUMNS",
        "The file has columns the template does not have",
        "Remove columns that are not in the intake template, or check that row 1 is the "
        "header row and not a client's data.",
    ),
    (
        "FILE-MIXED-SPEC-VERSION",
        "The file mixes old and new HUD columns",
        "Use one template only: the current one (with 'Sex' and 'HispanicLatinao') or the "
        "FY2024 one (with the gender columns), not columns from both.",
    ),
    (
        "FILE-RAGGED-ROW",
        "A row has more or fewer cells than the header",
        "A comma inside a value probably split it into two cells. Open the file in Excel, "
        "check the row named in the report, and save it as CSV UTF-8 again.",
    ),
    (
        "FILE-QUOTE",
        "Quotation marks in the file are unbalanced",
        "A quotation mark inside a cell broke the file's structure. Check the cells around "
        "the row named in the report, then save it from Excel again.",
    ),
    (
        "FILE-CONTROL-CHARS",
        "The file contains invisible control characters",
        "Some cells contain hidden characters (often pasted from another program). Retype "
        "the affected cells or paste them as plain text, then save again.",
    ),
    (
        "FILE-XLSX-ENCRYPTED",
        "The workbook is password-protected",
        "Remove the password (File > Info > Protect Workbook) before sending; the file is "
        "encrypted in transit by this system.",
    ),
    (
        "FILE-XLSX-MACRO",
        "The workbook contains macros",
        "Save the workbook as a plain 'Excel Workbook (.xlsx)', without macros, and send "
        "that file.",
    ),
    (
        "FILE-XLSX-SHEETS",
        "The workbook has more than one sheet with data",
        "Keep only the intake sheet (including hidden sheets: right-click a tab > Unhide) "
        "or copy the intake rows into a new workbook.",
    ),
    (
        "FILE-XLSX-FORMULA",
        "The workbook contains formulas",
        "Replace formulas with their values: select the cells, Copy, then Paste Special > "
        "Values, and save.",
    ),
    (
        "FILE-XLSX-BOMB",
        "The workbook expands to an unusual size",
        "The workbook could not be opened safely. Copy only the intake rows into a new "
        "workbook and send that.",
    ),
    (
        "FILE-XLSX-INVALID",
        "The workbook could not be read",
        "The file looks damaged. Open it in Excel, save it again as .xlsx (or CSV UTF-8), "
        "and send the saved copy.",
    ),
    (
        "FILE-NOT-REGULAR",
        "The item in the folder is not a normal file",
        "Shortcuts, links and folders cannot be processed. Copy the actual file into your "
        "folder. Staff have been notified.",
    ),
    (
        "FILE-WRONG-AGENCY",
        "The file belongs to another agency",
        "The agency id in the file does not match this folder. The file was held and not "
        "forwarded. Check the SubmittingAgencyID column and use your agency's folder.",
    ),
    (
        "FILE-MIXED-AGENCIES",
        "The file has more than one agency id",
        "A file may hold one agency's intakes only. Put your agency id in every row's "
        "SubmittingAgencyID column.",
    ),
    (
        "FILE-DUPLICATE",
        "This exact file was already received",
        "Nothing was processed again. If you meant to send corrections, change the rows "
        "and send the file again.",
    ),
    (
        "FILE-HAS-ERRORS",
        "The file was held because some rows have errors",
        "Your agency's setting holds the whole file when any row has an error. Fix the "
        "rows listed in the report and send the whole file again.",
    ),
    (
        "FILE-NO-VALID-ROWS",
        "No row in the file could be accepted",
        "Every row has an error. Fix the rows listed in the report and send the file again.",
    ),
    (
        "FILE-READ-ERROR",
        "The file could not be read",
        "Save the intake sheet again from Excel as 'CSV UTF-8 (Comma delimited)' or .xlsx "
        "and send the new file.",
    ),
    (
        "FILE-CHANGED-AFTER-CLAIM",
        "The file was still being changed after it arrived",
        "The file changed after we started reading it, so some rows may be missing. Nothing "
        "from it was sent. Wait until the upload or save has finished, then send the whole "
        "file again.",
    ),
    (
        "FILE-PROCESSING-FAILED",
        "The file could not be processed",
        "We tried several times and could not finish this file. Nothing from it was sent. "
        "Save the intake sheet again from the template and send the new file; if this keeps "
        "happening, call the CoC help desk and quote the file reference.",
    ),
    # Issue #9 (hold under attack).
    (
        "FILE-MIXED-ENCODING",
        "Part of the file is in a different text encoding",
        "Most of the file is UTF-8, but the row named in the report has characters saved in "
        "another encoding (often text pasted from an older program), so names would arrive "
        "garbled. Retype the accented letters in that row, save with File > Save As > "
        "'CSV UTF-8 (Comma delimited)', and send the file again.",
    ),
    (
        "FILE-CELL-TOO-LARGE",
        "A cell holds far more text than an intake field can",
        "One cell in the row named in the report holds more than 128 KiB of text, so the "
        "file was not read. Check that row for pasted text or a broken column, clear the "
        "cell or shorten it, and send the file again.",
    ),
    (
        "FILE-ABANDONED",
        "An unfinished upload, temporary file or folder was left in your drop folder",
        "Your folder held a partial upload, an Office lock or temporary file, a hidden file "
        "or a subfolder for longer than the waiting time, so it was removed and kept only "
        "encrypted. Nothing in it was read or sent. If it was an intake, save it as .csv "
        "or .xlsx directly in your drop folder and send it again.",
    ),
)

_ROW: Final[tuple[tuple[str, Severity, Scope, str, str], ...]] = (
    # Column-level checks: the report's column tells the agency where to look.
    (
        "VALUE-REQUIRED",
        "error",
        "row",
        "A required cell is blank",
        "Fill in this cell. If the client did not answer, use the 'doesn't know' (8), "
        "'prefers not to answer' (9) or 'not collected' (99) code where the column has one.",
    ),
    (
        "VALUE-WHITESPACE",
        "error",
        "row",
        "Spaces before or after the value",
        "Remove the spaces at the start or end of this cell. Codes, dates and ids must "
        "contain only the value itself.",
    ),
    (
        "CODE-NOT-IN-LIST",
        "error",
        "row",
        "Not one of the allowed codes",
        "Use one of this column's codes (listed below with their meanings), as the number "
        "alone or as picked from the template's dropdown, without decimals or other words.",
    ),
    (
        "TEXT-TOO-LONG",
        "error",
        "row",
        "The text is too long",
        "Shorten this cell: names may have at most 50 characters, ids 32, notes 100 or 250 "
        "(see the template).",
    ),
    (
        "TEXT-LINE-BREAK",
        "error",
        "row",
        "A line break inside a cell",
        "This cell contains a line break, often caused by a stray quotation mark. Retype "
        "the cell on one line.",
    ),
    (
        "TEXT-IMPERMISSIBLE-CHARS",
        "warning",
        "row",
        "Characters HMIS does not accept",
        "Remove the characters [ ] < > { } from this cell; HMIS rejects them.",
    ),
    (
        "NUMBER-SCIENTIFIC",
        "error",
        "row",
        "Excel changed this number into scientific notation",
        "Excel shortened a long number (like 1.23E+11) and lost digits. Format the column as "
        "Text before typing, re-enter the full number, and save again.",
    ),
    (
        "DATE-FORMAT",
        "error",
        "row",
        "The date is not written as yyyy-mm-dd",
        "Write dates as year-month-day with four-digit years, for example 2026-03-09. In "
        "Excel, format the column as Text or use the custom format yyyy-mm-dd.",
    ),
    (
        "DATE-US-FORMAT",
        "error",
        "row",
        "The date is in month/day/year form",
        "Write the date as year-month-day, for example 2026-03-09 instead of 3/9/2026. In "
        "Excel use the custom format yyyy-mm-dd before saving.",
    ),
    (
        "DATE-EXCEL-SERIAL",
        "error",
        "row",
        "Excel turned the date into a number",
        "The cell holds Excel's internal day number instead of a date. Format the column as "
        "yyyy-mm-dd (Format Cells > Custom) and save again.",
    ),
    (
        "DATE-INVALID",
        "error",
        "row",
        "This date does not exist on the calendar",
        "Check the month (01-12) and the day (for example, there is no February 30), and "
        "correct the date.",
    ),
    (
        "DATE-TOO-EARLY",
        "error",
        "row",
        "The date is before 1915",
        "Dates before 1915-01-01 are not accepted. Check for a mistyped or two-digit year. "
        "If a birth date is unknown, leave it blank and use the matching DOBDataQuality code.",
    ),
    (
        "DATE-FUTURE",
        "error",
        "row",
        "The date is in the future",
        "This date is later than today. Correct it to the date the event actually happened.",
    ),
    # Keys and routing.
    (
        "INTAKE-ID-FORMAT",
        "error",
        "row",
        "The IntakeID has characters that are not allowed",
        "Use 1 to 32 letters, digits, hyphens or underscores for IntakeID, with no spaces.",
    ),
    (
        "INTAKE-ID-DUPLICATE",
        "error",
        "row",
        "The IntakeID is used by an earlier row",
        "Each row needs its own IntakeID. Give this row a new IntakeID (the first row with "
        "this IntakeID was kept).",
    ),
    (
        "INTAKE-ID-ALREADY-SENT",
        "error",
        "row",
        "This IntakeID was already sent with different details",
        "Your data partner already has this IntakeID with other details, and enters each "
        "intake once, so this row was not sent. If you corrected something, tell your data "
        "partner what changed (quote the IntakeID and this file's reference). If this is a "
        "different client, give the row a new IntakeID and send it again.",
    ),
    (
        "AGENCY-MISMATCH",
        "error",
        "row",
        "The agency id is not your agency's",
        "Put your own agency id in SubmittingAgencyID. Intakes of another agency must not "
        "be sent through your folder.",
    ),
    # Name, SSN, date of birth and their data-quality codes.
    (
        "NAME-DQ-MISMATCH",
        "error",
        "row",
        "Name and NameDataQuality do not agree",
        "With NameDataQuality 1 fill in both FirstName and LastName; with 2 fill in at least "
        "one; with 8, 9 or 99 leave both names blank.",
    ),
    (
        "SSN-FORMAT",
        "error",
        "row",
        "The SSN is not 9 digits",
        "An SSN has 9 digits, written 123456789, 123-45-6789 or 123 45 6789. If some digits "
        "are unknown, put an x in their place (for example xxxxx6789) and set SSNDataQuality "
        "to 2. If the SSN is not known at all, leave it blank and set SSNDataQuality to 8, 9 "
        "or 99.",
    ),
    (
        "SSN-INVALID",
        "error",
        "row",
        "This SSN cannot be a real Social Security number",
        "The number was never issued by Social Security (for example it starts with 000, "
        "666 or 9, or is all one digit or a run like 123456789). Check the client's card; "
        "if the number is not known, leave SSN blank and use SSNDataQuality 8, 9 or 99.",
    ),
    (
        "SSN-DQ-MISMATCH",
        "error",
        "row",
        "SSN and SSNDataQuality do not agree",
        "With SSNDataQuality 1 (full SSN) fill in all 9 digits; with 2 (partial) fill in the "
        "digits you know and an x for each other one; with 8, 9 or 99 leave SSN blank.",
    ),
    (
        "SSN-PARTIAL-DQ",
        "error",
        "row",
        "A partial SSN needs SSNDataQuality 2",
        "The SSN has x for unknown digits, so set SSNDataQuality to 2 (approximate or "
        "partial), or fill in all 9 digits.",
    ),
    (
        "DOB-DQ-MISMATCH",
        "error",
        "row",
        "DOB and DOBDataQuality do not agree",
        "With DOBDataQuality 1 or 2 fill in the date of birth; with 8, 9 or 99 leave DOB blank.",
    ),
    (
        "DOB-AFTER-ENTRY",
        "error",
        "row",
        "The date of birth is after the entry date",
        "Check DOB and EntryDate. A head of household must be born before the entry date; "
        "other members on or before it.",
    ),
    (
        "AGE-OVER-100",
        "warning",
        "row",
        "The client is over 100 years old",
        "Please double-check the year of birth.",
    ),
    # Demographics.
    (
        "RACE-NONE-MISMATCH",
        "error",
        "row",
        "Race columns and RaceNone do not agree",
        "Either mark at least one race or ethnicity column with 1 and leave RaceNone blank, "
        "or set all of them to 0 and put 8, 9 or 99 in RaceNone.",
    ),
    (
        "SEX-MISSING",
        "warning",
        "row",
        "Sex is blank",
        "Record Sex (0 female, 1 male) or 8, 9 or 99 if the client does not know, prefers "
        "not to answer, or it was not collected.",
    ),
    (
        "GENDER-NONE-MISMATCH",
        "error",
        "row",
        "Gender columns and GenderNone do not agree",
        "Either mark at least one gender column with 1 and leave GenderNone blank, or set "
        "all of them to 0 and put 8, 9 or 99 in GenderNone.",
    ),
    (
        "GENDER-TEXT-MISMATCH",
        "warning",
        "row",
        "DifferentIdentityText does not match DifferentIdentity",
        "Fill in DifferentIdentityText only when DifferentIdentity is 1, and fill it in "
        "whenever DifferentIdentity is 1.",
    ),
    (
        "VETERAN-MINOR",
        "error",
        "row",
        "A client under 18 is marked as a veteran",
        "Check the date of birth and VeteranStatus. For children use VeteranStatus 99.",
    ),
    # Enrollment.
    (
        "ENTRY-DATE-NOT-INTAKE-DATE",
        "warning",
        "row",
        "EntryDate differs from IntakeDate",
        "For Coordinated Entry the entry date is normally the intake (assessment) date. "
        "Please check both dates.",
    ),
    (
        "HOH-RELATIONSHIP-99",
        "warning",
        "row",
        "Relationship to head of household not collected",
        "Record how this person is related to the head of household (1 to 5) instead of 99.",
    ),
    (
        "COC-FORMAT",
        "error",
        "row",
        "EnrollmentCoC is not a HUD CoC code",
        "Write the CoC code as two capital letters, a hyphen and three digits, for example MO-606.",
    ),
    (
        "COC-REQUIRED-HOH",
        "error",
        "row",
        "EnrollmentCoC is blank for the head of household",
        "Fill in EnrollmentCoC on the head of household's row (MO-606 for the Missouri "
        "Balance of State).",
    ),
    (
        "COC-UNEXPECTED",
        "warning",
        "row",
        "EnrollmentCoC is not this CoC",
        "The CoC code is not the expected one. If the client is being served here, use this "
        "CoC's code.",
    ),
    (
        "LIVING-SITUATION-REQUIRED",
        "error",
        "row",
        "Prior living situation is blank",
        "Fill in LivingSituation for the head of household and every adult (use 8, 9 or 99 "
        "if it was not answered).",
    ),
    (
        "RENTAL-SUBSIDY-REQUIRED",
        "error",
        "row",
        "Rental subsidy type is missing",
        "LivingSituation 435 (rental with ongoing subsidy) needs RentalSubsidyType. Fill in "
        "the subsidy code.",
    ),
    (
        "RENTAL-SUBSIDY-NOT-APPLICABLE",
        "warning",
        "row",
        "Rental subsidy type given without living situation 435",
        "RentalSubsidyType is used only with LivingSituation 435. Leave it blank or check "
        "LivingSituation.",
    ),
    (
        "PRIOR-LIVING-INCOMPLETE",
        "warning",
        "row",
        "A prior living situation question is unanswered",
        "Based on the living situation and length of stay, HUD asks this question too. "
        "Fill it in (or 8, 9 or 99).",
    ),
    (
        "DATE-TO-STREET-AFTER-ENTRY",
        "warning",
        "row",
        "Homelessness start date is after the entry date",
        "DateToStreetESSH is the approximate start of this episode of homelessness and "
        "should be on or before EntryDate. Please check it.",
    ),
    # Coordinated Entry assessment and event.
    (
        "ASSESSMENT-INCOMPLETE",
        "error",
        "row",
        "Assessment details are incomplete",
        "When any assessment column is filled, fill in all of AssessmentDate, "
        "AssessmentLocation, AssessmentType, AssessmentLevel and PrioritizationStatus.",
    ),
    (
        "ASSESSMENT-DATE-BEFORE-ENTRY",
        "error",
        "row",
        "The assessment is dated before the entry date",
        "AssessmentDate must be on or after EntryDate. Check both dates.",
    ),
    (
        "EVENT-INCOMPLETE",
        "error",
        "row",
        "Event details are incomplete",
        "When any event column is filled, fill in both EventDate and Event.",
    ),
    (
        "EVENT-DATE-BEFORE-ENTRY",
        "error",
        "row",
        "The event is dated before the entry date",
        "EventDate must be on or after EntryDate. Check both dates.",
    ),
    (
        "EVENT-FIELD-NOT-APPLICABLE",
        "warning",
        "row",
        "This event detail does not apply to the event",
        "This column is used only with certain events (ProbSolDivRRResult with event 2, "
        "ReferralCaseManageAfter with 5, LocationCrisisOrPHHousing with 10-15, "
        "ReferralResult with 10-15, 17 or 18, ResultDate with a ReferralResult). Leave it "
        "blank or check the Event code.",
    ),
    (
        "EVENT-RESULT-DATE-REQUIRED",
        "error",
        "row",
        "Referral result without a result date",
        "A ReferralResult needs the date of that result in ResultDate.",
    ),
    (
        "EVENT-RESULT-DATE-BEFORE-EVENT",
        "error",
        "row",
        "The referral result is dated before the event",
        "ResultDate must be on or after EventDate. Check both dates.",
    ),
    (
        "ROI-DATE-REQUIRED",
        "error",
        "row",
        "Release of information date is missing",
        "ROIConsent is 1, so fill in ROISignedDate with the date the client signed the release.",
    ),
    # Household and cross-row rules.
    (
        "HOH-COUNT",
        "error",
        "household",
        "The household does not have exactly one head",
        "Every HouseholdID needs exactly one member with RelationshipToHoH 1. Check the "
        "rows of this household.",
    ),
    (
        "HOUSEHOLD-ENTRY-DATE",
        "warning",
        "household",
        "Member entered before the head of household",
        "A household member's EntryDate is earlier than the head of household's. Members "
        "normally share the head's entry date.",
    ),
    (
        "HOUSEHOLD-HOH-NOT-SENT",
        "error",
        "household",
        "The head of household's row was not sent",
        "The data partner enters a household together with its head. Fix the head of "
        "household's row (see its own messages), then send the whole household again.",
    ),
    (
        "PERSON-DUPLICATE",
        "error",
        "row",
        "This person appears on an earlier row",
        "The same name, date of birth and SSN appear on an earlier row of this file. Remove "
        "the repeated row.",
    ),
    # Gate reasons: the row is valid but identifying data must not be sent.
    (
        "ROI-MISSING",
        "error",
        "gate",
        "No valid release of information",
        "This intake was not sent because there is no signed release of information "
        "(ROIConsent 1, signed on or before the intake date). Once the client signs, record "
        "it and send the row again.",
    ),
    (
        "ROI-EXPIRED",
        "error",
        "gate",
        "The release of information has expired",
        "The release of information expired before the intake date or before today. Ask "
        "the client to sign a new release, record it and send the row again.",
    ),
    (
        "VSP-NO-PII",
        "error",
        "gate",
        "Victim service provider: identifying data is not sent",
        "Your agency is a victim service provider, so federal law (VAWA/FVPSA) does not "
        "allow client-identifying data to be sent. Nothing identifying was transmitted.",
    ),
    # Issue #9 (hold under attack).
    (
        "CELL-FORMULA",
        "warning",
        "row",
        "The cell starts like a spreadsheet formula",
        "This cell starts with =, +, -, @, a tab or a line break, which a spreadsheet would "
        "run as a formula. It was sent with an apostrophe in front so the data partner's "
        "spreadsheet shows it as text. If the character is not part of the value, remove "
        "it in your records.",
    ),
    (
        "INTAKE-ID-HAS-PII",
        "error",
        "row",
        "The IntakeID contains the client's SSN, birth date or name",
        "An IntakeID travels into logs and tracking, so it must not identify the client. "
        "Use your agency's own record number (letters, digits, hyphens), not the SSN, birth "
        "date or name, and send the row again.",
    ),
    # Issue 13: what Excel produces (schemas/normalise.py) and HUD consistency warnings.
    (
        "DATE-DAY-FIRST",
        "error",
        "row",
        "The date only makes sense day first",
        "Dates are read month first (3/9/2026 is March 9). This date has a first number "
        "over 12, so it only works as day/month/year, which is never guessed. Write it as "
        "month/day/year (12/25/2026) or as year-month-day (2026-12-25).",
    ),
    (
        "SSN-LEADING-ZEROS-PADDED",
        "warning",
        "row",
        "Excel dropped the SSN's leading zeros; they were put back",
        "Excel stored this SSN as a number and dropped the zeros at the start. The row was "
        "sent with the zeros put back; check the SSN against the client's card. To stop "
        "this, format the SSN column as Text (right-click the column > Format Cells > Text) "
        "before typing.",
    ),
    (
        "SSN-LEADING-ZERO-LOST",
        "error",
        "row",
        "The SSN has 8 digits: Excel probably dropped a leading zero",
        "An SSN has 9 digits. Excel drops a leading zero when the column is formatted as a "
        "number. Format the SSN column as Text, type the SSN with its leading zero (dashes "
        "are fine), save and send the row again.",
    ),
    (
        "TEXT-MOJIBAKE",
        "warning",
        "row",
        "Accented letters or quotes look garbled",
        "The text contains character pairs such as Ã© or â€™ that appear when a file is "
        "saved in one text encoding and opened in another. Retype the accented letters or "
        "apostrophes in this column, and save the file as 'CSV UTF-8 (Comma delimited)' or "
        ".xlsx.",
    ),
    (
        "INTAKE-ID-ALREADY-SENT-SAME",
        "info",
        "row",
        "Already sent, not sent again",
        "This row was sent to your HMIS data partner earlier with exactly the same content, "
        "so it was not sent twice. Nothing to do.",
    ),
    # HUD's Eva data-quality warnings that fit an intake (EvaChecks.csv ids 105, 71, 70, 61,
    # 32); see schemas/rowrules.homeless_history_rules.
    (
        "HOMELESS-START-OVER-3-YEARS",
        "warning",
        "row",
        "Homeless for over 3 years, but times or months say otherwise",
        "DateToStreetESSH is three or more years before EntryDate: that is one long episode, "
        "so TimesHomelessPastThreeYears is normally 1 (one time) and "
        "MonthsHomelessPastThreeYears 112 or 113 (12 or more than 12 months). Check the date "
        "and the answers.",
    ),
    (
        "MONTHS-HOMELESS-MISMATCH",
        "warning",
        "row",
        "Months homeless do not match the homelessness start date",
        "The client was homeless one time, so MonthsHomelessPastThreeYears should count the "
        "calendar months from DateToStreetESSH to EntryDate, both included (101 = 1 month, "
        "102 = 2 months, ... 113 = more than 12). Check the months or the date.",
    ),
    (
        "MONTHS-HOMELESS-CAN-BE-DETERMINED",
        "warning",
        "row",
        "Months homeless can be worked out from the dates",
        "The client was homeless one time and DateToStreetESSH is known, so the months are "
        "the calendar months from that date to EntryDate, both included (101 = 1 month, ... "
        "113 = more than 12). Fill that in instead of 8, 9 or 99.",
    ),
    (
        "HOMELESS-HISTORY-UNKNOWN",
        "warning",
        "row",
        "Times or months homeless not known",
        "The answer is 'doesn't know', 'prefers not to answer' or 'not collected'. If the "
        "client can answer now, fill in the number; otherwise nothing to do.",
    ),
    (
        "DISABLING-CONDITION-UNKNOWN",
        "warning",
        "row",
        "Disabling condition not known",
        "DisablingCondition is 'doesn't know', 'prefers not to answer' or 'not collected'. "
        "If the client can answer now, use 0 (No) or 1 (Yes).",
    ),
    # Issue 11: declared only as a pandera check (schemas/intake_schema.py).
    (
        "NAME-DIGITS-ONLY",
        "error",
        "row",
        "A name holds only digits",
        "FirstName, MiddleName, LastName and NameSuffix hold letters. A cell with only digits "
        "is usually an ID or an SSN typed in the wrong column: put the client's name there "
        "(or leave it blank with NameDataQuality 8, 9 or 99) and move the number to its own "
        "column.",
    ),
)


def _catalogue() -> Mapping[str, Rule]:
    entries: dict[str, Rule] = {}
    for rule_id, title, guidance in _FILE:
        entries[rule_id] = Rule(rule_id, "error", "file", title, guidance)
    for rule_id, severity, scope, title, guidance in _ROW:
        entries[rule_id] = Rule(rule_id, severity, scope, title, guidance)
    if len(entries) != len(_FILE) + len(_ROW):
        raise RuntimeError("rule catalogue has a repeated id")
    return MappingProxyType(entries)


#: Every rule by id (read-only).
RULES: Final[Mapping[str, Rule]] = _catalogue()
#: Gate reasons used in ``ValidationOutcome.not_transmittable``.
GATE_RULE_IDS: Final = frozenset(r.id for r in RULES.values() if r.scope == "gate")
#: File-level rule ids (the reader's and the pipeline's).
FILE_RULE_IDS: Final = frozenset(r.id for r in RULES.values() if r.scope == "file")


def rule(rule_id: str) -> Rule:
    """The catalogue entry for ``rule_id``; ``KeyError`` for an unknown id."""
    return RULES[rule_id]


def severity_of(rule_id: str) -> Severity:
    """Shorthand for ``rule(rule_id).severity``."""
    return RULES[rule_id].severity
