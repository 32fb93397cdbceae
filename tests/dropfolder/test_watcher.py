"""The watcher loop end to end: events or polling wake a real scan + claim sweep."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from connectors.dropfolder import ClaimedFile, claim
from connectors.watcher import DropWatcher, filesystem_type, on_network_filesystem

from .conftest import AGENCIES, Tree

STABLE = 0.3


def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> bool:
    give_up = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > give_up:
            return False
        time.sleep(0.02)
    return True


class Running:
    """A watcher on its own thread, with a scan + claim sweep, stopped at teardown."""

    def __init__(self, tree: Tree, roots: list[Path], **options: object) -> None:
        self.scanner = tree.scanner(stable_seconds=STABLE)
        self.claimed: list[ClaimedFile] = []
        self.sweeps = 0
        self.stop = threading.Event()
        self.watcher = DropWatcher(roots, self.sweep, stop_event=self.stop, **options)  # type: ignore[arg-type]
        self.thread = threading.Thread(target=self.watcher.run, daemon=True)
        self.work = tree.work

    def sweep(self) -> float | None:
        self.sweeps += 1
        result = self.scanner.scan()
        for candidate in result.settled:
            got = claim(candidate, self.work)
            if got is not None:
                self.claimed.append(got)
        return result.next_due

    def finish(self) -> None:
        self.stop.set()
        self.thread.join(timeout=3)
        assert not self.thread.is_alive(), "did not stop soon after stop_event was set"


@pytest.fixture
def start(tree: Tree) -> Iterator[Callable[..., Running]]:
    started: list[Running] = []

    def make(roots: list[Path] | None = None, **options: object) -> Running:
        running = Running(tree, roots if roots is not None else [tree.agencies], **options)
        running.thread.start()
        started.append(running)
        return running

    yield make
    for running in started:
        running.finish()


@pytest.mark.parametrize("force_polling", [False, True], ids=["events", "polling"])
def test_settled_file_is_claimed_without_waiting_for_the_interval(
    tree: Tree, start: Callable[..., Running], force_polling: bool
) -> None:
    running = start(interval=600, force_polling=force_polling, poll_delay_ms=100)
    assert running.watcher.mode == ("polling" if force_polling else "events")
    assert wait_for(lambda: running.sweeps >= 1)  # a sweep right at start
    path = tree.put("intake.csv", b"id\n1\n", agency=AGENCIES[1])
    with path.open("ab") as handle:  # a second change within the same second
        handle.write(b"2\n")
    assert wait_for(lambda: len(running.claimed) == 1)
    [claimed] = running.claimed
    assert (claimed.agency_id, claimed.path.read_bytes()) == (AGENCIES[1], b"id\n1\n2\n")


def test_without_any_watching_the_timer_still_sweeps(
    tree: Tree, start: Callable[..., Running], caplog: pytest.LogCaptureFixture
) -> None:
    # A root that does not exist cannot be watched in either mode (like a dead SMB mount):
    # the interval sweep is the safety net.
    running = start(roots=[tree.root / "missing"], interval=0.2)
    tree.put("intake.csv")
    assert wait_for(lambda: len(running.claimed) == 1)
    assert any("cannot watch" in r.getMessage() for r in caplog.records)


def test_a_failing_sweep_is_logged_by_type_only_and_the_loop_goes_on(
    tree: Tree, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[float] = []

    def sweep() -> float:
        calls.append(time.monotonic())
        if len(calls) <= 2:
            raise ValueError("CNRY-3f2a Jane Doe intake.csv")
        return 0.0

    stop = threading.Event()
    watcher = DropWatcher([tree.agencies], sweep, interval=0.1, stop_event=stop)
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        assert wait_for(lambda: len(calls) >= 5)
    finally:
        stop.set()
        thread.join(timeout=3)
    assert not thread.is_alive()
    failures = [r for r in caplog.records if r.name == "connectors.watcher"]
    assert [r.getMessage() for r in failures] == ["drop-folder sweep failed: ValueError"] * 2
    assert all(r.exc_info is None and "CNRY" not in r.getMessage() for r in caplog.records)


def test_stop_is_honoured_promptly_while_idle(tree: Tree, start: Callable[..., Running]) -> None:
    running = start(interval=600)
    assert wait_for(lambda: running.sweeps == 1)
    running.finish()
    assert running.sweeps == 1


MOUNTS = """\
/dev/vda / ext4 rw,relatime 0 0
//fileserver/intake /srv/agency\\040drops cifs rw,vers=3.0 0 0
server:/export /srv/nfs nfs4 rw 0 0
/dev/vdb /srv/nfs/local ext4 rw 0 0
"""


@pytest.mark.parametrize(
    ("path", "fs_type", "network"),
    [
        ("/srv/agency drops/agency-a/drop", "cifs", True),
        ("/srv/nfs/agencies", "nfs4", True),
        ("/srv/nfs/local/agencies", "ext4", False),
        ("/var/lib/handoff", "ext4", False),
    ],
)
def test_network_filesystems_are_recognised(path: str, fs_type: str, network: bool) -> None:
    assert filesystem_type(Path(path), MOUNTS) == fs_type
    assert on_network_filesystem(Path(path), MOUNTS) is network


def test_mode_follows_the_filesystem_unless_forced(tree: Tree) -> None:
    stop = threading.Event()
    auto = DropWatcher([tree.agencies], lambda: None, stop_event=stop)
    expected = "polling" if on_network_filesystem(tree.agencies) else "events"
    assert auto.mode == expected
    forced = DropWatcher([tree.agencies], lambda: None, stop_event=stop, force_polling=True)
    assert forced.mode == "polling"


def test_bad_settings_are_refused(tree: Tree) -> None:
    with pytest.raises(ValueError):
        DropWatcher([tree.agencies], lambda: None, stop_event=threading.Event(), interval=0)


def test_no_path_is_logged_while_watching(
    tree: Tree, start: Callable[..., Running], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    running = start(interval=600)
    tree.put("CNRY-Jane_Doe.csv")
    assert wait_for(lambda: len(running.claimed) == 1)
    assert not any("CNRY" in r.getMessage() for r in caplog.records)


def test_after_a_failed_sweep_the_next_comes_soon_then_backs_off(tree: Tree) -> None:
    """A passing outage costs seconds, not the interval; a lasting one is not hammered."""
    outcomes: list[bool] = [False, False, False, False, False, False, True, False]

    def sweep() -> float | None:
        if not outcomes.pop(0):
            raise ConnectionError("the Prefect server did not answer")
        return None

    watcher = DropWatcher([tree.agencies], sweep, interval=10.0, stop_event=threading.Event())
    delays = [watcher._sweep_once() for _ in range(8)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0, 1.0]  # reset after a success
