"""The watcher's sweep (flows/watch.py): claims whose ingest run raised are not left for the
scheduled sweep. The next sweep runs ingest even with nothing new, and that run's recovery
task hands them off. Claiming and the ingest flow are replaced by recorders here: what is
tested is when the sweep calls ingest (the flow's recovery is tested by the crash lab)."""

from __future__ import annotations

from pathlib import Path

import pytest

import flows.watch as watch
from hmis_handoff.config import load_settings
from tests.conftest import run_cli


def test_a_failed_ingest_is_run_again_by_the_next_sweep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "data"
    run_cli("init", str(root), "--demo")
    claims = [["c0ffee00c0ffee00c0ffee00c0ffee00"]]  # the first sweep claims one file
    calls: list[list[str]] = []

    def claim_settled(*_args: object) -> list[str]:
        return claims.pop(0) if claims else []

    def ingest(claim_ids: list[str], sweep: bool) -> None:
        calls.append(list(claim_ids))
        if len(calls) == 1:
            raise ConnectionError("the Prefect server did not answer")

    monkeypatch.setattr(watch, "claim_settled", claim_settled)
    monkeypatch.setattr(watch, "ingest", ingest)
    scanner, sweep = watch.make_sweep(load_settings(root / "handoff.toml"))
    try:
        with pytest.raises(ConnectionError):
            sweep()
        assert calls == [["c0ffee00c0ffee00c0ffee00c0ffee00"]]
        sweep()  # nothing new: ingest runs anyway, for its recovery of the waiting claim
        assert calls[1:] == [[]]
        sweep()  # that run succeeded: an idle sweep calls nothing
        assert calls[2:] == []
    finally:
        scanner.close()  # its inotify descriptor (publish signals)
