"""Files handed off as one batch (usecases/handoff_batch.py) end exactly as handed off alone.

Two fresh demo data roots get the same files; one hands them off one by one with
:meth:`Handoff.process_claim` (the path before batching), the other with
:func:`usecases.handoff_batch.hand_off_batch` (judged as one frame, two at a time). Every
file must get the same outcome, the same report, the same ledger records and a package with
the same rows, including files whose verdict depends on an earlier file of the batch (an
IntakeID it delivered) and files the batch cannot judge (columns that fit no spec).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from connectors.dropfolder import ClaimedFile, DropFolderScanner, SettlePolicy, claim
from hmis_handoff.config import load_settings
from hmis_handoff.crypto.age import decrypt_file, parse_identities_file
from hmis_handoff.ledger import FileState
from tests.packages import intake_text
from tests.synthetic import make_valid_row, write_sample_csv
from usecases.handoff import FileOutcome, Handoff
from usecases.handoff_batch import BatchJudge, hand_off_batch
from usecases.initialise import initialise

AS_OF = datetime(2026, 3, 9, 15, 0, tzinfo=UTC)


def _row(i: int, **overrides: str) -> dict[str, str]:
    values = {
        "IntakeID": f"T{i:05d}",
        "HouseholdID": f"HH{i:05d}",
        "SSN": f"701{i:02d}{1000 + i:04d}",
        "CollectedByUser": f"U{i}",
        **overrides,
    }
    return make_valid_row(**values)


def _files() -> dict[str, list[dict[str, str]]]:
    """In claim (name) order: what each file holds and why it is here."""
    missing = _row(30)
    del missing["IntakeID"]
    return {
        "a.csv": [_row(1), _row(2), _row(3)],  # valid
        "b.csv": [_row(4), _row(5, SSN="123456789")],  # one row with an error
        "c.csv": [missing],  # columns that fit no spec: FILE-MISSING-COLUMNS
        "d.csv": [_row(1)],  # a's row again, same content: already sent, same
        "e.csv": [_row(2, CollectedByUser="changed"), _row(6)],  # a's IntakeID, new content
        "f.csv": [_row(7), _row(8)],  # valid, after files it shares nothing with
        "g.csv": [_row(6), _row(9)],  # e's new IntakeID: depends on e's outcome
    }


def _root(tmp: Path, name: str) -> Handoff:
    root = tmp / name / "data"
    initialise(root, demo=True)
    for file_name, rows in _files().items():
        write_sample_csv(root / "agencies" / "demo-agency" / "drop" / file_name, rows)
    return Handoff(load_settings(root / "handoff.toml"), clock=lambda: AS_OF)


def _claims(pipe: Handoff) -> list[ClaimedFile]:
    scanner = DropFolderScanner(pipe.layout.agencies, ["demo-agency"], SettlePolicy(0.0))
    settled = sorted(scanner.scan().settled, key=lambda c: c.path.name)
    claims = [claim(c, pipe.layout.work) for c in settled]
    assert all(c is not None for c in claims)
    return [c for c in claims if c is not None]


def _facts(pipe: Handoff, outcomes: list[FileOutcome | None]) -> list[tuple[object, ...]]:
    """Per file, in claim order: outcome (no claim id), report CSV, records, package rows."""
    facts: list[tuple[object, ...]] = []
    reports = pipe.layout.agencies / "demo-agency" / "reports"
    key = list(parse_identities_file(pipe.settings.root / "demo-keys" / "demo-partner.key"))
    for outcome in outcomes:
        assert outcome is not None
        report = sorted(p.read_bytes() for p in reports.glob(f"*{outcome.file_ref}*.csv"))
        view = pipe.ledger.file_by_claim(outcome.claim_id)
        assert view is not None
        records = sorted(
            (r.intake_id, r.row_number, r.state, r.reason_rule, r.package_id)
            for r in pipe.ledger.records()
            if r.file_id == view.id
        )
        rows = ""
        if outcome.package_id:
            plain = pipe.settings.root.parent / f"{outcome.package_id}.zip"
            age = pipe.layout.partner_outbox("demo-partner") / f"{outcome.package_id}.age"
            decrypt_file(age, plain, key)  # type: ignore[arg-type]
            rows = intake_text(plain)
        facts.append((outcome.as_dict() | {"claim_id": ""}, report, records, rows))
    return facts


def test_a_batch_ends_exactly_as_the_files_alone(tmp_path: Path) -> None:
    alone = _root(tmp_path, "alone")
    one_by_one = [alone.process_claim(c) for c in _claims(alone)]
    batched = _root(tmp_path, "batch")
    attempts = hand_off_batch(batched, _claims(batched), workers=2)
    assert not any(a.failed for a in attempts)
    together = [a.outcome for a in attempts]

    assert [o.state for o in one_by_one if o] == [
        FileState.DELIVERED,  # a
        FileState.DELIVERED,  # b: one row sent, one held
        FileState.REJECTED,  # c
        FileState.NOT_SENT,  # d: nothing new
        FileState.DELIVERED,  # e: T00006 sent, T00002 held (already sent, other content)
        FileState.DELIVERED,  # f
        FileState.DELIVERED,  # g: T00009 sent, T00006 held
    ]
    assert _facts(batched, together) == _facts(alone, one_by_one)
    reports = batched.layout.agencies / "demo-agency" / "reports" / "index.html"
    assert all(o and o.file_ref in reports.read_text() for o in together)  # one page rebuild


def test_a_file_sharing_an_intake_id_with_an_earlier_one_is_judged_at_its_turn(
    tmp_path: Path,
) -> None:
    pipe = _root(tmp_path, "order")
    claims = _claims(pipe)
    judge = BatchJudge()
    judged = judge.judge(pipe, claims)
    assert judged == len(claims) - 1  # every file but c (its columns fit no spec)
    taken = {c.claim_id: judge.take(c) for c in claims}
    names = ["a", "b", "c", "d", "e", "f", "g"]
    used = {name for name, c in zip(names, claims, strict=True) if taken[c.claim_id]}
    # d and e repeat a's IntakeIDs, g repeats e's: their batch verdicts are dropped.
    assert used == {"a", "b", "f"}


def test_one_unreadable_file_costs_no_other_file_its_batch_verdict(tmp_path: Path) -> None:
    pipe = _root(tmp_path, "bad")
    claims = _claims(pipe)
    claims[1].path.write_bytes(b"\x00\x01 not a csv \xff\xfe")  # b, after it was claimed
    judge = BatchJudge()
    judge.judge(pipe, claims)
    verdicts = [judge.take(c) for c in claims]
    assert verdicts[0] is not None and verdicts[5] is not None  # a and f still judged
    assert verdicts[1] is None
