"""Fast settle: a file renamed in after it was written settles in fast_confirm_seconds.

The evidence is ctime > mtime (rename changes ctime only; a write sets both to one instant).
In-place writers, old-mtime copiers and empty files still wait the full window.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from connectors.dropfolder import ClaimedFile, claim

from .conftest import FakeClock, Tree

OLD_NS = 946_684_800 * 10**9  # 2000-01-01


def publish(tree: Tree, name: str, data: bytes = b"id\n1\n") -> Path:
    """Write under a temp name, then rename in, the way an atomic uploader does.

    The stat before the rename is what sftp-server and smbd do; it also makes the rename's
    ctime fine-grained, so the test never depends on the kernel tick (see SettlePolicy).
    """
    temp = tree.put(f"{name}.filepart", data)
    os.stat(temp)
    final = tree.drop() / name
    os.rename(temp, final)
    st = os.stat(final)
    assert st.st_ctime_ns - st.st_mtime_ns > 0, "precondition: the rename moved ctime only"
    return final


def test_a_renamed_file_settles_after_the_confirm_interval(tree: Tree, clock: FakeClock) -> None:
    scanner = tree.scanner(clock)
    publish(tree, "intake.csv")
    first = scanner.scan()
    assert (first.settled, first.pending) == ([], 1)
    assert first.next_due == pytest.approx(0.1)
    clock.advance(0.09)
    assert scanner.scan().settled == []
    clock.advance(0.01)
    [candidate] = scanner.scan().settled
    assert candidate.path.name == "intake.csv"


def test_one_observation_is_never_enough(tree: Tree, clock: FakeClock) -> None:
    # Seen once, long after the rename: still needs a second look fast_confirm later.
    publish(tree, "intake.csv")
    clock.advance(30)
    scanner = tree.scanner(clock)
    assert scanner.scan().settled == []
    clock.advance(0.11)
    assert len(scanner.scan().settled) == 1


def test_the_switch_turns_it_off(tree: Tree, clock: FakeClock) -> None:
    scanner = tree.scanner(clock, fast_settle=False)
    publish(tree, "intake.csv")
    assert scanner.scan().next_due == pytest.approx(2.0)
    clock.advance(1.9)
    assert scanner.scan().settled == []
    clock.advance(0.1)
    assert len(scanner.scan().settled) == 1


def test_an_in_place_writer_waits_the_full_window(tree: Tree, clock: FakeClock) -> None:
    scanner = tree.scanner(clock)
    path = tree.put("intake.csv", b"id\n")
    st = os.stat(path)
    assert st.st_ctime_ns == st.st_mtime_ns  # a write sets both
    scanner.scan()
    clock.advance(1.0)
    assert scanner.scan().settled == []
    clock.advance(1.0)
    assert len(scanner.scan().settled) == 1


def test_writing_to_a_renamed_file_takes_it_off_the_fast_path(tree: Tree, clock: FakeClock) -> None:
    scanner = tree.scanner(clock)
    path = publish(tree, "intake.csv")
    scanner.scan()
    with path.open("ab") as handle:
        handle.write(b"2\n")
    assert scanner.scan().next_due == pytest.approx(2.0)
    clock.advance(0.5)
    assert scanner.scan().settled == []


def test_an_old_mtime_copy_waits_the_full_window(tree: Tree, clock: FakeClock) -> None:
    # A copier that restores the source's mtime: ctime - mtime is years, not seconds.
    scanner = tree.scanner(clock)
    path = publish(tree, "copied.csv")
    os.utime(path, ns=(OLD_NS, OLD_NS))
    scanner.scan()
    clock.advance(1.0)
    assert scanner.scan().settled == []
    clock.advance(1.0)
    assert len(scanner.scan().settled) == 1


def test_the_gap_ceiling_is_a_policy(tree: Tree, clock: FakeClock) -> None:
    path = publish(tree, "intake.csv")
    now_ns = os.stat(path).st_ctime_ns
    os.utime(path, ns=(now_ns - 5 * 10**9, now_ns - 5 * 10**9))  # mtime 5 s before ctime
    tight = tree.scanner(clock, fast_max_gap_seconds=1.0)
    loose = tree.scanner(clock)
    tight.scan()
    loose.scan()
    clock.advance(0.1)
    assert tight.scan().settled == []
    assert len(loose.scan().settled) == 1


def test_an_empty_renamed_file_waits_the_full_window(tree: Tree, clock: FakeClock) -> None:
    scanner = tree.scanner(clock)
    publish(tree, "empty.csv", b"")
    scanner.scan()
    clock.advance(0.5)
    assert scanner.scan().settled == []


def test_a_zero_window_stays_zero(tree: Tree, clock: FakeClock) -> None:
    publish(tree, "intake.csv")
    assert len(tree.scanner(clock, stable_seconds=0).scan().settled) == 1


@pytest.mark.parametrize("policy", [{"fast_confirm_seconds": -0.1}, {"fast_max_gap_seconds": 0}])
def test_bad_fast_settings_are_config_errors(tree: Tree, policy: dict[str, object]) -> None:
    from hmis_handoff.errors import ConfigError

    with pytest.raises(ConfigError):
        tree.scanner(**policy)


def test_in_real_time_renamed_files_are_claimed_within_a_fraction_of_the_window(
    tree: Tree,
) -> None:
    # The default 2 s window; 12 files renamed in one after another while the scanner runs.
    scanner = tree.scanner()
    published: dict[str, float] = {}
    claimed: dict[str, float] = {}
    payloads = {f"f{i:02d}.csv": f"id\n{i}\n".encode() * 50 for i in range(12)}

    def publisher() -> None:
        for name, data in payloads.items():
            time.sleep(0.15)
            published[name] = time.monotonic()
            publish(tree, name, data)

    thread = threading.Thread(target=publisher)
    thread.start()
    got: list[ClaimedFile] = []
    give_up = time.monotonic() + 20
    while len(claimed) < len(payloads) and time.monotonic() < give_up:
        for candidate in scanner.scan().settled:
            name = candidate.path.name
            result = claim(candidate, tree.work)
            assert result is not None
            claimed[name] = time.monotonic()
            got.append(result)
        time.sleep(0.02)
    thread.join()
    assert set(claimed) == set(payloads)
    latencies = sorted(claimed[name] - published[name] for name in payloads)
    assert latencies[-1] < 0.6, latencies  # the window alone would be 2 s
    assert sorted(c.path.read_bytes() for c in got) == sorted(payloads.values())
