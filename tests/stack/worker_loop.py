"""A hand-off worker for tests: claim and hand off settled files until none is left.

``python -m tests.stack.worker_loop CONFIG`` (ledger from ``HANDOFF_LEDGER__URL``): the core
loop a worker runs per flow run (recover, claim by atomic rename, hand off under the claim
lock), without Prefect, so a test can SIGKILL it mid-file.
"""

from __future__ import annotations

import sys
from pathlib import Path

from connectors.dropfolder import DropFolderScanner, SettlePolicy, claim
from hmis_handoff.config import load_settings
from usecases.handoff import Handoff
from usecases.isolation import hand_off_guarded


def main(config: Path) -> None:
    settings = load_settings(config)
    pipe = Handoff(settings)
    for claimed in pipe.recover():
        hand_off_guarded(pipe, claimed)
    scanner = DropFolderScanner(
        pipe.layout.agencies, [a.id for a in settings.agencies], SettlePolicy(0.0)
    )
    while settled := scanner.scan().settled:
        for candidate in settled:
            got = claim(candidate, pipe.layout.work)  # None: another worker won it
            if got is not None:
                hand_off_guarded(pipe, got)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
