"""A claim's helper files in ``work/`` are found from one listing, exactly as the globs
the names are defined by would find them, and never another claim's."""

from __future__ import annotations

from pathlib import Path

from hmis_handoff.workarea import ClaimFiles

CLAIM = "0123456789abcdef0123456789abcdef"
OTHER = "fedcba9876543210fedcba9876543210"

NAMES = [
    # this claim: pass 2's plaintext, helpers, and half-done atomic writes of them
    f"{CLAIM}.csv", f"{CLAIM}.claim.json", f"{CLAIM}.lock", f"{CLAIM}.copy.csv",
    f"{CLAIM}.verdict.json", f"{CLAIM}.send.csv", f"{CLAIM}.send.zip",
    f"{CLAIM}.send.hmis-Client.csv", f"{CLAIM}.send.scratch",
    f".tmp-a1b2c3d4e5f6-{CLAIM}.send.zip", f".tmp-a1b2c3d4e5f6-{CLAIM}.copy.xlsx",
    f".tmp-000000000000-{CLAIM}.verdict.json", f".tmp-x-y-{CLAIM}.copy.csv",
    # not temps of this claim's helpers
    f".tmp-a1b2c3d4e5f6-{CLAIM}.claim.json", f".tmp-a1b2c3d4e5f6-{CLAIM}.verdict.json.bak",
    f"x.tmp-a1b2c3d4e5f6-{CLAIM}.send.zip", f"{CLAIM}.sendx",
    # another claim's, including one whose name holds this claim id later on
    f"{OTHER}.send.csv", f".tmp-a1b2c3d4e5f6-{OTHER}.send.zip",
    f".tmp-{CLAIM}-{OTHER}.copy.csv", f"{OTHER}.send.{CLAIM}",
]  # fmt: skip


def _globbed(work: Path, patterns: list[str]) -> set[Path]:
    return {path for pattern in patterns for path in work.glob(pattern)}


def test_helpers_are_found_as_the_globs_find_them(tmp_path: Path) -> None:
    for name in NAMES:
        (tmp_path / name).write_bytes(b"")
    (tmp_path / f"{CLAIM}.send.hmis").mkdir()  # a folder pass 2 made counts too
    files = ClaimFiles(tmp_path, CLAIM)
    names = files.listing()

    sends = _globbed(tmp_path, [f"{CLAIM}.send.*"])
    temps = _globbed(
        tmp_path,
        [f".tmp-*-{CLAIM}.send.*", f".tmp-*-{CLAIM}.copy*", f".tmp-*-{CLAIM}.verdict.json"],
    )
    assert set(files.send_files(names)) == set(files.send_files()) == sends
    assert set(files.temp_files(names)) == set(files.temp_files()) == temps
    assert len(sends) == 5 and len(temps) == 4
    assert not {p for p in sends | temps if OTHER in p.name and CLAIM not in p.name}


def test_a_missing_work_area_has_no_helpers(tmp_path: Path) -> None:
    files = ClaimFiles(tmp_path / "gone", CLAIM)
    assert files.listing() == [] and files.send_files() == [] and files.temp_files() == []
