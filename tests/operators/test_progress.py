"""Progress on long work: the pipeline reports rows per chunk; a big file gets an artifact."""

from __future__ import annotations

from pathlib import Path

import pytest

import usecases.handoff as pipeline_module
from hmis_handoff import progress
from tests.pipeline.test_pipeline import drop_rows, make_pipeline, root, rows, run_all

__all__ = ["root"]  # the pytest fixture, imported


def test_pipeline_reports_rows_after_each_chunk(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline_module, "CHUNK_ROWS", 2)
    pipe = make_pipeline(root)
    drop_rows(root, rows(5, "PRG"))
    seen: list[int] = []
    with progress.listening(seen.append):
        outcomes, _ = run_all(pipe)
    assert [o.rows_sent for o in outcomes] == [5]
    # One report per chunk (the reader's first chunk may be shorter), ending at the total.
    assert len(seen) == 3 and seen == sorted(set(seen)) and seen[-1] == 5
    progress.rows_done(7)  # nobody listens any more: nothing happens, nothing raised
    assert len(seen) == 3


@pytest.mark.server
def test_a_big_file_gets_a_progress_artifact(prefect_api: str, tmp_path: Path) -> None:
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterKey,
    )

    from flows.dashboard import BIG_FILE_BYTES, file_progress

    big = tmp_path / "0123abcd.csv"
    line = b"x" * 99 + b"\n"
    lines = BIG_FILE_BYTES // len(line) + 1
    big.write_bytes(line * lines)
    small = tmp_path / "small.csv"
    small.write_bytes(line * 10)

    @flow(persist_result=False)
    def validate_both() -> None:
        with file_progress(small, "demo-agency claim small"):
            progress.rows_done(10)
        with file_progress(big, "demo-agency claim 0123abcd"):
            for done in range(0, lines, lines // 10):
                progress.rows_done(done)

    state = validate_both(return_state=True)
    assert state.is_completed(), state
    # This run's artifacts only: the session's server holds other tests' too.
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=["file-progress"]),
                flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id]),
            )
        )
    assert len(found) == 1  # the small file made none
    (artifact,) = found
    assert artifact.type == "progress" and float(artifact.data) == 100.0  # type: ignore[arg-type]
    assert artifact.description == "Validating demo-agency claim 0123abcd"
