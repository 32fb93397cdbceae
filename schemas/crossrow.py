"""Rules across rows: duplicate IntakeIDs and people, households (hmis-domain.md §9.3 1 and 7).

They must see the whole file, so chunks only *record* compact keys here
(:meth:`CrossRowState.record`) and :meth:`CrossRowState.finish` judges once every chunk is in.
State per row: its row number, three keys and four flags; memory grows with the row count
but stays a small fraction of the file itself.

Rules:

* ``INTAKE-ID-DUPLICATE``: an IntakeID seen on an earlier row; the first row keeps it.
* ``PERSON-DUPLICATE``: same normalised first and last name, DOB and SSN as an earlier row
  (needs a name and a valid DOB; names compare case-insensitively without spaces).
* ``HOH-COUNT``: a household (SubmittingAgencyID + HouseholdID) without exactly one member
  with RelationshipToHoH 1, reported on every row of that household.
* ``HOUSEHOLD-ENTRY-DATE`` (warning): a member's EntryDate before the head's.
* ``HOUSEHOLD-HOH-NOT-SENT``: the head's row is not going to the partner (an error or no
  consent), so the members that would otherwise go are held: HMIS needs the head to
  enter a household.

Cause, not cascade: a household whose head cannot be known because a RelationshipToHoH
cell is itself wrong gets no ``HOH-COUNT`` (that cell's own message is the cause); its
other rows are held with ``HOUSEHOLD-HOH-NOT-SENT`` pointing at that row.

``details`` name the household by its row numbers and point at the head's row (value-free
text such as "Household of rows 2, 3 and 5; its head is row 2"), so staff can find the
cause without the report quoting a HouseholdID.

Keys are kept in memory only for the life of one validation; nothing here is persisted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from schemas.cells import BoolArray, DayArray, IntArray
from schemas.rowrules import Parsed, People

__all__ = ["CrossRowResult", "CrossRowState", "RowHit"]

RowHit = tuple[str, str, IntArray]


@dataclass(frozen=True)
class CrossRowResult:
    """Cross-row hits as ``(rule id, column, row numbers)``; ``errored``: rows that now carry
    an error; ``withheld``: those of them a chunk had reported as sendable."""

    hits: list[RowHit]
    errored: IntArray
    withheld: IntArray
    details: dict[tuple[int, str], str] = field(default_factory=dict)


def _key(parts: list[pd.Series], usable: BoolArray) -> pd.Series:
    joined = parts[0]
    for part in parts[1:]:
        joined = joined + "\x1f" + part
    return joined.where(usable, "")


def _normalised_name(text: pd.Series) -> pd.Series:
    return text.str.lower().str.replace(" ", "", regex=False)


@dataclass
class CrossRowState:
    """Keys and flags of every row validated so far, in file order."""

    _rows: list[IntArray] = field(default_factory=list)
    _intake: list[pd.Series] = field(default_factory=list)
    _person: list[pd.Series] = field(default_factory=list)
    _household: list[pd.Series] = field(default_factory=list)
    _is_hoh: list[BoolArray] = field(default_factory=list)
    _entry: list[DayArray] = field(default_factory=list)
    _sendable: list[BoolArray] = field(default_factory=list)
    _relation_unknown: list[BoolArray] = field(default_factory=list)
    _shown: list[IntArray] = field(default_factory=list)

    def record(
        self,
        rows: IntArray,
        parsed: Parsed,
        who: People,
        sendable: BoolArray,
        *,
        scope: pd.Series | None = None,
        shown: IntArray | None = None,
    ) -> None:
        """Remember one chunk; ``sendable`` is the row-local verdict (no error, consent ok).

        Batches of files (:mod:`schemas.batch`): ``scope`` (text per row, e.g. the file's
        number) keeps rows of different scopes apart (no duplicate or household across
        them), and ``shown`` gives the row numbers the ``details`` texts name (the file's
        own), while ``rows`` stay unique across the batch.
        """
        text = parsed.text
        self._rows.append(rows)
        self._shown.append(rows if shown is None else shown)
        keys = [text["IntakeID"]] if scope is None else [scope, text["IntakeID"]]
        self._intake.append(_key(keys, parsed.valid("IntakeID")))
        named = parsed.present("FirstName") | parsed.present("LastName")
        self._person.append(
            _key(
                [
                    *([] if scope is None else [scope]),
                    _normalised_name(text["FirstName"]),
                    _normalised_name(text["LastName"]),
                    text["DOB"],
                    text["SSN"],
                ],
                named & parsed.valid("DOB"),
            )
        )
        self._household.append(
            _key(
                [
                    *([] if scope is None else [scope]),
                    text["SubmittingAgencyID"],
                    text["HouseholdID"],
                ],
                parsed.valid("SubmittingAgencyID") & parsed.valid("HouseholdID"),
            )
        )
        self._is_hoh.append(who.is_hoh)
        self._entry.append(parsed.day("EntryDate"))
        self._sendable.append(sendable)
        self._relation_unknown.append(~parsed.valid("RelationshipToHoH"))

    def finish(self) -> CrossRowResult:
        """Judge the cross-row rules over every recorded row."""
        if not self._rows:
            empty = np.zeros(0, dtype=np.int64)
            return CrossRowResult([], empty, empty)
        rows = np.concatenate(self._rows)
        order = np.argsort(rows, kind="stable")
        rows = rows[order]
        shown = np.concatenate(self._shown)[order]
        intake = pd.concat(self._intake, ignore_index=True).iloc[order].reset_index(drop=True)
        person = pd.concat(self._person, ignore_index=True).iloc[order].reset_index(drop=True)
        household = pd.concat(self._household, ignore_index=True).iloc[order]
        is_hoh = np.concatenate(self._is_hoh)[order]
        entry = np.concatenate(self._entry)[order]
        sendable = np.concatenate(self._sendable)[order]
        relation_unknown = np.concatenate(self._relation_unknown)[order]

        intake_dup = np.asarray(intake.duplicated(keep="first") & (intake != ""), dtype=bool)
        person_dup = np.asarray(person.duplicated(keep="first") & (person != ""), dtype=bool)

        in_household = np.asarray(household != "", dtype=bool)
        positions = np.flatnonzero(in_household)
        groups, uniques = pd.factorize(household.iloc[positions])
        heads = np.bincount(groups, weights=is_hoh[positions], minlength=len(uniques))
        unknown = np.bincount(groups, weights=relation_unknown[positions], minlength=len(uniques))
        # No single head, and a relationship cell is wrong: that cell is the cause.
        undecided = (unknown > 0) & (heads != 1)
        hoh_count = np.zeros(len(rows), dtype=bool)
        hoh_count[positions] = (heads[groups] != 1) & ~undecided[groups]

        single = heads == 1
        member = ~is_hoh[positions] & single[groups]
        head_entry = np.full(len(uniques), np.datetime64("NaT"), dtype="datetime64[D]")
        head_rows = is_hoh[positions] & single[groups]
        head_entry[groups[head_rows]] = entry[positions][head_rows]
        early = np.zeros(len(rows), dtype=bool)
        early[positions] = member & (entry[positions] < head_entry[groups])

        error = intake_dup | person_dup | hoh_count
        still_sendable = sendable & ~error
        head_sent = np.zeros(len(uniques), dtype=bool)
        head_sent[groups[head_rows]] = still_sendable[positions][head_rows]
        held = np.zeros(len(rows), dtype=bool)
        held[positions] = (member & ~head_sent[groups] | undecided[groups]) & still_sendable[
            positions
        ]
        error |= held
        details = _household_details(
            rows,
            shown,
            positions,
            groups,
            is_hoh,
            relation_unknown,
            heads,
            hoh_count | held | early,
            held,
        )

        hits: list[RowHit] = [
            ("INTAKE-ID-DUPLICATE", "IntakeID", rows[intake_dup]),
            ("PERSON-DUPLICATE", "", rows[person_dup]),
            ("HOH-COUNT", "", rows[hoh_count]),
            ("HOUSEHOLD-ENTRY-DATE", "EntryDate", rows[early]),
            ("HOUSEHOLD-HOH-NOT-SENT", "", rows[held]),
        ]
        return CrossRowResult(
            hits=[h for h in hits if len(h[2])],
            errored=rows[error],
            withheld=rows[error & sendable],
            details=details,
        )


def _row_list(numbers: list[int]) -> str:
    """ "rows 2, 3 and 5" (at most eight listed, then the count)."""
    if len(numbers) == 1:
        return f"row {numbers[0]}"
    if len(numbers) > 8:
        return "rows " + ", ".join(map(str, numbers[:8])) + f" and {len(numbers) - 8} more"
    return "rows " + ", ".join(map(str, numbers[:-1])) + f" and {numbers[-1]}"


def _household_details(
    rows: IntArray,
    shown: IntArray,
    positions: IntArray,
    groups: IntArray,
    is_hoh: BoolArray,
    relation_unknown: BoolArray,
    heads: np.ndarray,
    flagged: BoolArray,
    held: BoolArray,
) -> dict[tuple[int, str], str]:
    """Value-free text per flagged household row: its household's rows and the head's row."""
    details: dict[tuple[int, str], str] = {}
    wanted = np.flatnonzero(flagged[positions])
    if not len(wanted):
        return details
    members: dict[int, list[int]] = {}
    for group, row in zip(groups.tolist(), shown[positions].tolist(), strict=True):
        members.setdefault(group, []).append(row)
    head_row: dict[int, int] = {}
    bad_relation: dict[int, int] = {}
    for index, group in enumerate(groups.tolist()):
        position = positions[index]
        if is_hoh[position] and heads[group] == 1:
            head_row[group] = int(shown[position])
        if relation_unknown[position]:
            bad_relation.setdefault(group, int(shown[position]))
    for index in wanted.tolist():
        group = int(groups[index])
        position = positions[index]
        row = int(rows[position])
        where = f"Household of {_row_list(members[group])}"
        if group in head_row:
            text = f"{where}; its head is row {head_row[group]}"
            if held[position]:
                text += ", which was not sent (see that row's messages)"
        elif group in bad_relation:
            text = (
                f"{where}; the head cannot be known until RelationshipToHoH on row "
                f"{bad_relation[group]} is fixed"
            )
        else:
            count = int(heads[group])
            text = f"{where}; it has {'no' if count == 0 else count} heads of household"
        for rule_id in ("HOH-COUNT", "HOUSEHOLD-HOH-NOT-SENT", "HOUSEHOLD-ENTRY-DATE"):
            details[(row, rule_id)] = text
    return details
