"""The watcher loop: sweep at start, on filesystem hints, after a pending file's window, and
on a timer no matter what.

Events only make the next sweep come sooner; the sweep lists the folders itself, so a lost,
coalesced or premature event (watchfiles reports files mid-write and, when polling, misses a
second change within the same second) costs latency, never a file.

We drive watchfiles' ``RustNotify`` directly instead of ``watchfiles.watch``: ``watch`` logs
every changed path at DEBUG (agency file names are PII), and its timeout is fixed when the
generator starts, while ours follows the sweep's "wake me in N seconds" hint.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

from watchfiles._rust_notify import RustNotify

__all__ = [
    "FIRST_RETRY_SECONDS",
    "MIN_GAP_SECONDS",
    "NETWORK_FILESYSTEMS",
    "DropWatcher",
    "Mode",
    "filesystem_type",
    "on_network_filesystem",
]

logger = logging.getLogger(__name__)

Mode = Literal["events", "polling"]

# inotify does not see writes made by other clients of these filesystems (watchfiles #125).
NETWORK_FILESYSTEMS = frozenset({"cifs", "smb3", "smbfs", "nfs", "nfs4", "fuse.sshfs", "9p"})
MIN_GAP_SECONDS = 0.1  # least time between two sweeps, so neither hints nor events spin the loop
#: After a failed sweep the next one comes this soon, doubling per failure in a row up to
#: the interval: a passing outage (the Prefect server busy or restarting) costs seconds.
FIRST_RETRY_SECONDS = 1.0
_MAX_STEP_MS = 25  # quiet time that closes a batch of events; also how often stop is checked


def _unescape_mount_field(field: str) -> str:
    # /proc/mounts writes space, tab, newline and backslash as 3-digit octal escapes.
    for code in ("\\040", "\\011", "\\012", "\\134"):
        field = field.replace(code, chr(int(code[1:], 8)))
    return field


def filesystem_type(path: Path, mounts: str | None = None) -> str | None:
    """The type of the filesystem holding ``path`` per ``/proc/mounts`` (or ``mounts`` text).

    The longest mount point that contains the resolved path wins; later lines win ties
    (the last mount over a point hides the earlier ones). None if unknown (not Linux).
    """
    if mounts is None:
        try:
            mounts = Path("/proc/mounts").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
    target = path.resolve()
    best: tuple[int, str] | None = None
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = Path(_unescape_mount_field(fields[1]))
        if target == point or point in target.parents:
            depth = len(point.parts)
            if best is None or depth >= best[0]:
                best = (depth, fields[2])
    return best[1] if best else None


def on_network_filesystem(path: Path, mounts: str | None = None) -> bool:
    """True if ``path`` is on a filesystem where inotify misses other clients' writes."""
    return filesystem_type(path, mounts) in NETWORK_FILESYSTEMS


class DropWatcher:
    """Calls `sweep()` whenever filesystem events arrive under the watched roots (watchfiles,
    which only hints — the sweep decides), and also every `interval` seconds no matter what,
    and right away at start. Polling mode: `force_polling=True` (config switch), chosen
    automatically when inotify is unavailable (watchfiles raises when starting) or a root is
    on a network filesystem (/proc/mounts type cifs, smb3, smbfs, nfs, nfs4, fuse.sshfs, 9p).
    Runs until `stop_event` is set; stops within ~1 s of stop (a sweep under way finishes
    first). Never dies on an exception from sweep: logs type(e).__name__ only (no message: it
    could carry PII) and continues.

    ``sweep`` may return a number: "sweep again in N seconds" (e.g. when a pending file's
    settle window ends); the next sweep comes at min(N, interval), or sooner on an event.
    Anything else it returns is ignored. If watching cannot start at all (a root missing),
    the loop runs on the timer alone and retries watching once per interval.
    """

    def __init__(
        self,
        roots: Sequence[Path],
        sweep: Callable[[], object],
        *,
        interval: float = 30.0,
        force_polling: bool | None = None,
        stop_event: threading.Event,
        debounce_ms: int = 50,
        poll_delay_ms: int = 300,
    ) -> None:
        if not interval > 0 or debounce_ms < 1 or poll_delay_ms < 1:
            raise ValueError("interval, debounce_ms and poll_delay_ms must be positive")
        self._roots = tuple(roots)
        self._sweep = sweep
        self._interval = interval
        self._stop = stop_event
        self._debounce_ms = debounce_ms
        self._step_ms = min(debounce_ms, _MAX_STEP_MS)
        self._poll_delay_ms = poll_delay_ms
        if force_polling is None:
            force_polling = any(on_network_filesystem(root) for root in self._roots)
        self._mode: Mode = "polling" if force_polling else "events"
        self._notifier: RustNotify | None = None
        self._next_notifier_attempt = 0.0
        self._watch_failing = False
        self._failures = 0  # sweeps failed in a row

    @property
    def mode(self) -> Mode:
        """How changes are noticed: kernel events, or watchfiles' stat polling."""
        return self._mode

    def run(self) -> None:
        """Sweep and wait until ``stop_event`` is set. Re-raises only KeyboardInterrupt."""
        try:
            # Watch before the first sweep, so a file arriving during it is not left for the
            # interval sweep.
            self._open_notifier()
            due = last = time.monotonic()
            while not self._stop.is_set():
                now = time.monotonic()
                if now >= due:
                    last = now
                    due = time.monotonic() + self._sweep_once()
                elif self._wait(due - now):
                    # A writer appending steadily sends a batch every few ms; one sweep per
                    # MIN_GAP is plenty, as a file cannot settle sooner than its window anyway.
                    due = min(due, last + MIN_GAP_SECONDS)
        finally:
            self._close_notifier()

    def _sweep_once(self) -> float:
        """Run the sweep; return the delay until the next one is due.

        After a failure: :data:`FIRST_RETRY_SECONDS`, doubled for each failure in a row, at
        most the interval (a failure often passes; a lasting one is not hammered)."""
        try:
            result = self._sweep()
        except Exception as exc:
            logger.warning("drop-folder sweep failed: %s", type(exc).__name__)
            self._failures += 1
            return min(self._interval, FIRST_RETRY_SECONDS * 2.0 ** (self._failures - 1))
        self._failures = 0
        if (
            isinstance(result, int | float)
            and not isinstance(result, bool)
            and math.isfinite(result)
        ):
            return min(self._interval, max(float(result), MIN_GAP_SECONDS))
        return self._interval

    def _wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds; True if filesystem events arrived."""
        if timeout <= 0:
            return False
        reopened = self._notifier is None
        notifier = self._notifier or self._open_notifier()
        if notifier is None:
            self._stop.wait(timeout)
            return False
        if reopened:
            return True  # anything may have arrived while nothing was watching: sweep soon
        try:
            # timeout_ms=0 would mean "forever" to RustNotify, hence the floor of 1.
            outcome = notifier.watch(
                self._debounce_ms, self._step_ms, max(1, math.ceil(timeout * 1000)), self._stop
            )
        except Exception as exc:
            logger.warning("watching the drop folders failed: %s", type(exc).__name__)
            self._close_notifier()
            return False
        if outcome == "signal":
            raise KeyboardInterrupt
        return isinstance(outcome, set) and bool(outcome)

    def _open_notifier(self) -> RustNotify | None:
        """Start watching, falling back from events to polling; None means timer only."""
        if time.monotonic() < self._next_notifier_attempt or not self._roots:
            return None
        self._next_notifier_attempt = time.monotonic() + self._interval
        # Checked here because in events mode watchfiles silently watches nothing when a
        # root is missing and ignore_permission_denied is on.
        failure = None if all(root.is_dir() for root in self._roots) else "a root is missing"
        for mode in dict.fromkeys((self._mode, "polling")) if failure is None else ():
            try:
                self._notifier = RustNotify(
                    [str(root) for root in self._roots],
                    False,  # debug would print every path to stderr
                    mode == "polling",
                    self._poll_delay_ms,
                    True,  # recursive: agency folders added later are seen too
                    True,  # ignore_permission_denied: one odd subfolder must not stop us
                )
            except Exception as exc:
                failure = type(exc).__name__
                continue
            if mode != self._mode:
                logger.warning("watcher fell back to polling (%s)", failure)
                self._mode = "polling"
            if self._watch_failing:
                logger.info("watching the drop folders again")
                self._watch_failing = False
            return self._notifier
        if not self._watch_failing:
            logger.warning("cannot watch the drop folders (%s); sweeping on the timer", failure)
            self._watch_failing = True
        return None

    def _close_notifier(self) -> None:
        if self._notifier is not None:
            self._notifier.close()
            self._notifier = None
