"""Agency drop folders: find settled files, refuse hostile objects, claim by atomic rename.

Layout (DESIGN.md): ``<agencies_root>/<agency>/drop/`` is watched; claimed files go to
``work/`` beside a claim sidecar, hostile objects to ``quarantine/`` beside a refusal
sidecar, named as :mod:`hmis_handoff.workarea` says.

Settle rule (the scanner's own observations, never mtime age, which Windows copies keep):
a regular file is *settled* once its identity (inode, size, mtime_ns, ctime_ns) has been
unchanged for ``stable_seconds`` since the scan that last saw it change, or at once when a
``<name>.done`` marker at least as new as the file (by ctime) stands beside it. ctime is in
the identity because no writer can set it back: a copy tool that sets the final length first
and restores an old mtime after each chunk still moves ctime. A file that was published by
rename settles after ``fast_confirm_seconds`` instead (see :class:`SettlePolicy` for the
evidence that tells a rename from a write, and its limits). On local folders watched by
events (``publish_signals``), the kernel's own signals settle a file sooner still: renamed in
(``IN_MOVED_TO``) at once, closed by its writer (``IN_CLOSE_WRITE``) after
``close_quiet_seconds``, unless a later change contradicts them (connectors/publish_signals.py).

Anything else in a drop folder that is not a temp, lock or hidden name is answered, never
ignored forever: a settled regular file without an allowed suffix (``.xls``, ``.pdf``, no
suffix ...) is refused as ``FILE-BAD-TYPE``, any other non-regular object as
``FILE-NOT-REGULAR``. Ignored names (partial uploads, lock, temp and hidden files) and
subfolders without a file-like name are left alone while they may be in use, and answered
as ``FILE-ABANDONED`` (then quarantined, kept only encrypted) once they have been left
unchanged for ``SettlePolicy.abandon_seconds`` (a day by default).

Privacy: the agency's file name is used only to address the file in its drop folder (lstat,
rename). It is never logged, returned in a message, stored, or used to build another path.
Files are known by claim id and by a name fingerprint (hmis_handoff.workarea), keyed when
the caller passes a ``fingerprint_key`` (the pipeline passes its record HMAC secret), so a
fingerprint that reaches Prefect cannot confirm a guessed name. Errors raised here carry
fixed text and ids only (``OSError`` messages would carry the path, so none escape).
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import json
import logging
import os
import re
import stat
import time
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors.publish_signals import PublishSignals
from hmis_handoff.errors import ConfigError, RetriableError, UnsafeFolderError
from hmis_handoff.failpoints import failpoint
from hmis_handoff.fsutil import (
    FILE_MODE,
    atomic_write_text,
    ensure_private_dir,
    fsync_dir,
    move_no_replace,
    rename_no_replace,
)
from hmis_handoff.safedir import held_dir
from hmis_handoff.workarea import (
    CLAIM_LOCK_SUFFIX,
    ClaimFiles,
    QuarantineFiles,
    RefusalFacts,
    claim_id_of,
    is_claim_id,
    name_fingerprint,
    new_claim_id,
)

__all__ = [
    "DEFAULT_IGNORES",
    "RULE_ABANDONED",
    "RULE_BAD_NAME",
    "RULE_BAD_TYPE",
    "RULE_NOT_REGULAR",
    "RULE_UNREADABLE",
    "ClaimedFile",
    "DropCandidate",
    "DropFolderScanner",
    "Refusal",
    "ScanResult",
    "SettlePolicy",
    "claim",
    "load_claim",
    "name_is_hostile",
    "pending_claims",
    "quarantine_refusal",
]

logger = logging.getLogger(__name__)

RULE_NOT_REGULAR = "FILE-NOT-REGULAR"
RULE_UNREADABLE = "FILE-UNREADABLE"
RULE_BAD_NAME = "FILE-BAD-NAME"
RULE_BAD_TYPE = "FILE-BAD-TYPE"
RULE_ABANDONED = "FILE-ABANDONED"

DEFAULT_IGNORES: tuple[str, ...] = (
    "~$*",  # Office owner/lock file
    ".~lock.*#",  # LibreOffice lock
    "*.filepart",  # WinSCP upload in progress
    "*.part",
    "*.partial",
    "*.tmp",
    "*.crdownload",
    "[0-9a-f]" * 8,  # Excel's extension-less temp save (e.g. 8A3B2C1D)
    "._*",  # macOS resource fork
    ".*",  # hidden
    "Thumbs.db",
    "desktop.ini",
    ".DS_Store",
)

_SUFFIX_RE = re.compile(r"\.[a-z0-9]{1,10}")
_AGENCY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# Characters that reorder or split what a person (or a log line) shows: bidi controls and
# the Unicode line/paragraph separators. C0/C1 controls are caught by category "Cc".
_DISPLAY_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2028\u2029")
_DISPLAY_CONTROLS |= frozenset("\u2066\u2067\u2068\u2069")
_SIDECAR_MAX_BYTES = 64 * 1024
_CHANGED = "changed-under-us"  # internal verdict of the readability probe, never reported


@dataclass(frozen=True)
class SettlePolicy:
    """When a dropped file counts as complete, and which names are never candidates.

    Globs match case-insensitively (agencies use Windows); a name they match is counted as
    ignored (Excel's extension-less temp saves among them). Only names ending in one of
    ``allowed_suffixes`` (also case-insensitive) can be claimed; any other settled file is
    refused as ``FILE-BAD-TYPE`` so the agency hears what to send instead.

    **Fast settle for atomic publishers** (``fast_settle``, on by default). On Linux every
    write (and truncate) sets mtime and ctime to the same instant, while rename, link,
    chmod, chown, xattr and utime change ctime alone. A file whose ctime is newer than its
    mtime by a little (``0 < ctime - mtime < fast_max_gap_seconds``) therefore had a
    metadata change after its last write: typically it was written under a temp name and
    renamed in. Such a file (size > 0) settles once its identity was the same on two
    observations at least ``fast_confirm_seconds`` apart, instead of ``stable_seconds``.
    The gap ceiling keeps slow copiers out: one that restores the source's old mtime after
    each chunk shows ctime - mtime = the source's age (days, years), so it still waits out
    the full window. Limits, each of which falls back to (or needs) the full window:

    * Timestamps are coarse (the kernel tick, 4 ms here): a rename within the same tick as
      the last write leaves ctime == mtime, so the file waits the full window. Measured on
      this kernel: an immediate write + rename matched in ~95% of tries; a rename 5 ms or
      more after the last write was told apart every time, as was one preceded by a stat
      of the file (multigrain timestamps, Linux 6.13+), which sftp-server and smbd do.
    * Any metadata-only change counts as "published": a writer that chmods or stamps a
      recent mtime between chunks (or a server doing so for it, e.g. Samba's delayed
      write-time update) and then pauses longer than ``fast_confirm_seconds`` looks done.
      So does a copier restoring a source mtime less than ``fast_max_gap_seconds`` old
      after every chunk. Turn the switch off for drop folders fed by such writers.
    * On a network client mount both times come from the server and attributes are
      cached; watch on the file server itself (see connectors/watcher.py).

    :func:`claim` re-checks the identity after its rename and puts back a file that
    changed, which catches a writer that resumes in that instant, not one paused longer.
    """

    stable_seconds: float = 2.0
    done_marker_suffix: str = ".done"
    ignore_globs: tuple[str, ...] = DEFAULT_IGNORES
    allowed_suffixes: tuple[str, ...] = (".csv", ".xlsx", ".txt", ".tsv")
    max_name_bytes: int = 255
    fast_settle: bool = True
    fast_confirm_seconds: float = 0.1
    fast_max_gap_seconds: float = 60.0
    # Quiet time after the kernel's close-write (local folders watched by events only).
    close_quiet_seconds: float = 0.25
    # One-shot sweeps on local disks: a file whose ctime is already stable_seconds old on the
    # wall clock settles on first sight (no writer can set ctime back; a network mount's
    # ctime is another host's clock, so never there).
    trust_ctime_age: bool = False
    # Ignored names (partial uploads, lock, temp and hidden files) and subfolders untouched
    # this long are answered as FILE-ABANDONED and quarantined; None keeps them forever.
    abandon_seconds: float | None = 86_400.0

    def __post_init__(self) -> None:
        if not self.stable_seconds >= 0:
            raise ConfigError("intake.stable_seconds must be >= 0")
        if not self.fast_confirm_seconds >= 0:
            raise ConfigError("intake.fast_confirm_seconds must be >= 0")
        if not self.close_quiet_seconds >= 0:
            raise ConfigError("intake.close_quiet_seconds must be >= 0")
        if not self.fast_max_gap_seconds > 0:
            raise ConfigError("intake.fast_max_gap_seconds must be > 0")
        if self.max_name_bytes <= 0:
            raise ConfigError("intake.max_name_bytes must be > 0")
        for suffix in self.allowed_suffixes:
            if not _SUFFIX_RE.fullmatch(suffix.lower()):
                raise ConfigError("intake.allowed_suffixes: each must look like '.csv'")
        marker = self.done_marker_suffix.lower()
        if not marker.startswith(".") or marker in self._suffixes():
            raise ConfigError("intake.done_marker_suffix must start with '.' and not be allowed")
        if CLAIM_LOCK_SUFFIX in self._suffixes():
            raise ConfigError(f"intake.allowed_suffixes: '{CLAIM_LOCK_SUFFIX}' names claim locks")
        if self.abandon_seconds is not None and not self.abandon_seconds > 0:
            raise ConfigError("intake.abandon_seconds must be > 0")

    def _suffixes(self) -> frozenset[str]:
        return frozenset(s.lower() for s in self.allowed_suffixes)


@dataclass(frozen=True)
class DropCandidate:
    """A settled regular file in an agency's drop folder, as last observed.

    ``first_seen`` is on the scanner's clock (monotonic). ``done_marker`` is the marker that
    settled it early, removed by :func:`claim` once the file is claimed.
    """

    agency_id: str
    path: Path
    size: int
    mtime_ns: int
    inode: int
    first_seen: float
    done_marker: Path | None = None


@dataclass(frozen=True)
class Refusal:
    """An object in a drop folder that will not be read, reported once per object.

    ``fingerprint`` is :func:`name_fingerprint` of the name (keyed if the scanner has a
    key), for messages that must not quote the name. ``kind`` says what was found
    (``symlink``, ``fifo``, ``hard-link``, ``directory``, ``file`` ...). ``inode`` lets
    :func:`quarantine_refusal` check it still has the object that was refused.
    """

    agency_id: str
    path: Path
    reason_rule_id: str
    fingerprint: str
    kind: str = "file"
    inode: int | None = None


@dataclass(frozen=True)
class ScanResult:
    """One scan over every agency drop folder.

    ``pending``: regular files still settling. ``next_due``: seconds until the earliest of
    them could settle (None if none is settling): sleep that long, not a full interval.
    """

    settled: list[DropCandidate]
    pending: int
    refused: list[Refusal]
    ignored: int
    next_due: float | None = None


@dataclass(frozen=True)
class ClaimedFile:
    """A file owned by this pipeline: in ``work/`` under its claim id, with a sidecar.

    ``suffix`` is lower-case with its dot (``.csv``); ``claimed_at`` is UTC.
    """

    claim_id: str
    agency_id: str
    path: Path
    suffix: str
    claimed_at: datetime
    name_fingerprint: str


def name_is_hostile(name: str, max_name_bytes: int = 255) -> bool:
    """True for names we refuse to handle: too long, not UTF-8, or with control/bidi chars.

    ``name`` is as ``os.scandir`` gives it (undecodable bytes as surrogate escapes).
    """
    raw = os.fsencode(name)
    if len(raw) > max_name_bytes:
        return True
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return any(ch in _DISPLAY_CONTROLS or unicodedata.category(ch) == "Cc" for ch in name)


def _kind(st: os.stat_result) -> str:
    mode = st.st_mode
    kinds = (
        (stat.S_ISLNK, "symlink"),
        (stat.S_ISDIR, "directory"),
        (stat.S_ISFIFO, "fifo"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISCHR, "char-device"),
        (stat.S_ISBLK, "block-device"),
    )
    for test, name in kinds:
        if test(mode):
            return name
    return "hard-link" if st.st_nlink != 1 else "file"


def _is_plain_file(st: os.stat_result) -> bool:
    return stat.S_ISREG(st.st_mode) and st.st_nlink == 1


@dataclass
class _Seen:
    first_seen: float
    changed_at: float
    identity: tuple[int, int, int, int]  # inode, size, mtime_ns, ctime_ns


@dataclass
class _Tally:
    """What one scan has found so far, over all agencies."""

    now: float
    settled: list[DropCandidate] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)  # one per pending file
    ignored: int = 0


@dataclass
class _AgencyScan:
    """What one drop-folder listing produced, before it is merged into the scanner state."""

    seen: dict[Path, _Seen] = field(default_factory=dict)
    refused: dict[Path, tuple[str, int, int]] = field(default_factory=dict)


class DropFolderScanner:
    """Level-triggered: remembers first-seen (monotonic clock) and last (size, mtime_ns, inode,
    ctime_ns) per path, in memory. Decides settled-ness from its own observations, never from
    mtime age (Windows copies keep old mtimes).

    Each :meth:`scan` lists every drop folder without following symlinks and never opens
    anything but a regular file (non-blocking, no-follow, only to prove it is readable).
    State is kept only for what is present, so a name dropped again after a claim is a new
    file that must settle again. A refusal is reported once per (path, object); an
    unreadable file is retried on every scan and flows once its permissions are fixed.
    A drop folder that does not exist yet is skipped; one that cannot be listed is logged
    (agency id only) when it starts failing. ``fingerprint_key`` keys the fingerprints of
    refusals (see :func:`name_fingerprint`). ``publish_signals`` (local folders only, never
    on network mounts, where inotify misses other clients' writes) also reads the kernel's
    publish events (see :class:`SettlePolicy`); :meth:`close` releases them.
    """

    def __init__(
        self,
        agencies_root: Path,
        agency_ids: Iterable[str],
        policy: SettlePolicy,
        clock: Callable[[], float] = time.monotonic,
        *,
        fingerprint_key: bytes | None = None,
        publish_signals: bool = False,
    ) -> None:
        self._root = agencies_root
        self._agency_ids = tuple(dict.fromkeys(agency_ids))
        for agency_id in self._agency_ids:
            if not _AGENCY_RE.fullmatch(agency_id):
                raise ConfigError("agencies: an agency id is not a safe folder name")
        self._policy = policy
        self._clock = clock
        self._ignore = re.compile(
            "|".join(fnmatch.translate(glob) for glob in policy.ignore_globs) or "(?!)",
            re.IGNORECASE,
        )
        self._suffixes = policy._suffixes()
        self._marker = policy.done_marker_suffix.lower()
        self._fast_gap_ns = int(policy.fast_max_gap_seconds * 1e9)
        self._key = fingerprint_key
        if fingerprint_key is not None:
            name_fingerprint(b"", fingerprint_key)  # an empty key fails here, not mid-scan
        self._state: dict[str, _AgencyScan] = {}
        self._unlistable: set[str] = set()
        self._signals: PublishSignals | None = None
        if publish_signals and policy.fast_settle:
            drops = [agencies_root / agency_id / "drop" for agency_id in self._agency_ids]
            try:
                self._signals = PublishSignals(drops)
            except OSError as exc:  # no inotify (or no instances left): the window decides
                logger.warning("kernel publish signals unavailable: %s", type(exc).__name__)

    def close(self) -> None:
        """Release the kernel watches of ``publish_signals`` (if any)."""
        if self._signals is not None:
            self._signals.close()

    def forget(self, path: Path) -> None:
        """Drop everything remembered about ``path`` (e.g. after it was claimed)."""
        for state in self._state.values():
            state.seen.pop(path, None)
            state.refused.pop(path, None)
        if self._signals is not None:
            self._signals.forget(path)

    def scan(self) -> ScanResult:
        """List every drop folder once; see the class docstring for the rules."""
        tally = _Tally(now=self._clock())
        if self._signals is not None:
            self._signals.drain(tally.now)
        for agency_id in self._agency_ids:
            self._scan_agency(agency_id, tally)
        next_due = max(0.0, min(tally.waits)) if tally.waits else None
        return ScanResult(tally.settled, len(tally.waits), tally.refused, tally.ignored, next_due)

    def _scan_agency(self, agency_id: str, tally: _Tally) -> None:
        try:
            with held_dir(self._root, (agency_id, "drop"), f"drop of agency {agency_id}") as held:
                self._scan_held(agency_id, held, tally)
        except UnsafeFolderError as exc:
            # Never follow it: a drop folder swapped for a link to ../../state would have us
            # quarantine the signing key. Logged once per agency until it is fixed.
            if agency_id not in self._unlistable:
                self._unlistable.add(agency_id)
                logger.error("%s", exc)
        except FileNotFoundError:
            return  # not created yet: the folder may be there on the next scan
        except OSError as exc:
            if agency_id not in self._unlistable:
                self._unlistable.add(agency_id)
                logger.warning(
                    "drop folder of agency %s cannot be listed: %s", agency_id, type(exc).__name__
                )

    def _scan_held(self, agency_id: str, held: Path, tally: _Tally) -> None:
        """Scan one drop folder through ``held`` (its checked handle, see held_dir)."""
        drop = self._root / agency_id / "drop"
        listing = self._list(agency_id, held)
        if listing is None:
            return  # keep what we knew: the folder may be back on the next scan
        previous = self._state.get(agency_id, _AgencyScan())
        current = _AgencyScan()
        markers: dict[str, tuple[str, int]] = {}
        entries: list[tuple[str, os.stat_result]] = []
        for name, st in listing:
            if self._ignore.match(name):
                tally.ignored += 1
                if self._abandoned(st):
                    entries.append((name, st))
            elif name.lower().endswith(self._marker):
                if stat.S_ISREG(st.st_mode):
                    markers[name[: -len(self._marker)]] = (name, st.st_ctime_ns)
            else:
                entries.append((name, st))
        for name, st in entries:
            path = drop / name
            rule = self._refusal_rule(name, st)
            if rule is None and (stat.S_ISDIR(st.st_mode) or self._ignore.match(name)):
                if not self._abandoned(st):
                    continue  # a subdirectory without a file-like name, not left for long
                rule = RULE_ABANDONED
            if rule is None:
                seen = _observe(previous.seen.get(path), st, tally.now)
                current.seen[path] = seen
                rule = self._settle(agency_id, path, held, st, seen, markers.get(name), tally)
                if rule is None:
                    continue
            key = (rule, st.st_ino, stat.S_IFMT(st.st_mode))
            current.refused[path] = key
            if previous.refused.get(path) != key:
                fingerprint = name_fingerprint(name, self._key)
                tally.refused.append(
                    Refusal(agency_id, path, rule, fingerprint, _kind(st), st.st_ino)
                )
        self._state[agency_id] = current

    def _settle(
        self,
        agency_id: str,
        path: Path,
        held: Path,
        st: os.stat_result,
        seen: _Seen,
        marker: tuple[str, int] | None,
        tally: _Tally,
    ) -> str | None:
        """Count a tracked file as settled or pending; return a rule if it must be refused
        (unreadable, or settled without a claimable suffix)."""
        claimable = self._suffix(path.name) is not None
        # Only a marker written after the file's last change counts: an orphan from an
        # earlier claim, or one written before the data, is older.
        if marker is not None and (not claimable or st.st_size == 0 or marker[1] < st.st_ctime_ns):
            marker = None
        window = self._window(st)
        wait = 0.0 if marker else window - (tally.now - seen.changed_at)
        if self._policy.trust_ctime_age and time.time() - st.st_ctime >= window:
            wait = 0.0
        signal = self._signals.get(path) if self._signals is not None else None
        if signal is not None and seen.changed_at <= signal.at and st.st_size > 0:
            # The kernel said the writer is done and nothing we saw since contradicts it.
            quiet = 0.0 if signal.kind == "moved-in" else self._policy.close_quiet_seconds
            wait = min(wait, min(quiet, window) - (tally.now - signal.at))
        if wait <= 0:
            rule = self._readable_rule(held / path.name, st)
            if rule is _CHANGED:
                seen.changed_at = tally.now
                wait = window
            elif rule is not None:
                return rule
        if wait > 0:
            tally.waits.append(wait)
            return None
        if not claimable:
            return RULE_BAD_TYPE  # settled first, so the whole object is quarantined
        tally.settled.append(
            DropCandidate(
                agency_id=agency_id,
                path=path,
                size=st.st_size,
                mtime_ns=st.st_mtime_ns,
                inode=st.st_ino,
                first_seen=seen.first_seen,
                done_marker=path.with_name(marker[0]) if marker else None,
            )
        )
        return None

    def _window(self, st: os.stat_result) -> float:
        """Seconds the identity must hold still: short for a file published by rename."""
        policy = self._policy
        if (
            policy.fast_settle
            and st.st_size > 0
            and 0 < st.st_ctime_ns - st.st_mtime_ns < self._fast_gap_ns
        ):
            return min(policy.fast_confirm_seconds, policy.stable_seconds)
        return policy.stable_seconds

    def _list(self, agency_id: str, drop: Path) -> list[tuple[str, os.stat_result]] | None:
        """(name, lstat) for each entry of ``drop`` (a held handle path), or None if the
        folder cannot be listed."""
        try:
            with os.scandir(drop) as iterator:
                names = [entry.name for entry in iterator]
        except OSError as exc:
            if agency_id not in self._unlistable:
                self._unlistable.add(agency_id)
                logger.warning(
                    "drop folder of agency %s cannot be listed: %s", agency_id, type(exc).__name__
                )
            return None
        if agency_id in self._unlistable:
            self._unlistable.discard(agency_id)
            logger.info("drop folder of agency %s can be listed again", agency_id)
        listing = []
        for name in names:
            try:
                listing.append((name, os.lstat(drop / name)))
            except OSError:
                continue  # vanished (or became unreachable) since the listing; next scan decides
        return listing

    def _abandoned(self, st: os.stat_result) -> bool:
        """True if an ignored object or subfolder has been left unchanged past the grace
        period. Judged by ctime and mtime on the wall clock, not by our own observations,
        so a one-shot ``handoff process`` sees it too; no writer can set ctime back."""
        grace = self._policy.abandon_seconds
        if grace is None:
            return False
        return time.time() - max(st.st_ctime, st.st_mtime) >= grace

    def _suffix(self, name: str) -> str | None:
        suffix = os.path.splitext(name)[1].lower()
        return suffix if suffix in self._suffixes else None

    def _refusal_rule(self, name: str, st: os.stat_result) -> str | None:
        """The rule a listed object breaks by its name or type, or None if it may be tracked.

        Only plain regular files are tracked (a bad suffix is judged once they settle).
        """
        if stat.S_ISDIR(st.st_mode):
            return RULE_NOT_REGULAR if self._suffix(name) is not None else None
        if name_is_hostile(name, self._policy.max_name_bytes):
            return RULE_BAD_NAME
        if not _is_plain_file(st):
            return RULE_NOT_REGULAR
        return None

    @staticmethod
    def _readable_rule(path: Path, st: os.stat_result) -> str | None:
        """None if we can read it, ``FILE-UNREADABLE``, or ``_CHANGED`` if it moved under us.

        Opened without following a link and without blocking (a FIFO swapped in after the
        lstat must not hang the scan), then fstat'ed to prove it is still the same file.
        """
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
        try:
            fd = os.open(path, flags)
        except PermissionError:
            return RULE_UNREADABLE
        except OSError:
            return _CHANGED  # gone, or now a symlink (ELOOP): the next lstat classifies it
        try:
            opened = os.fstat(fd)
        finally:
            os.close(fd)
        if not _is_plain_file(opened) or opened.st_ino != st.st_ino:
            return _CHANGED
        return None


def _observe(previous: _Seen | None, st: os.stat_result, now: float) -> _Seen:
    identity = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    if previous is None:
        return _Seen(first_seen=now, changed_at=now, identity=identity)
    if previous.identity != identity:
        return _Seen(first_seen=previous.first_seen, changed_at=now, identity=identity)
    return previous


# Claim ---------------------------------------------------------------------------------------


def _matches(path: Path, candidate: DropCandidate) -> bool:
    """Is ``path`` still the single-linked regular file the scanner settled on?"""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return _is_plain_file(st) and (st.st_ino, st.st_size, st.st_mtime_ns) == (
        candidate.inode,
        candidate.size,
        candidate.mtime_ns,
    )


def _atomic_rename(src: Path, dst: Path) -> None:
    """Rename as a mutex: exactly one caller moves ``src``; ``dst`` is never replaced.

    The fallback is a plain rename, not link + unlink: two workers could both link the same
    source, so only rename decides a race. ``dst`` names are unique (random claim ids).
    """
    try:
        rename_no_replace(src, dst)
    except NotImplementedError:
        os.rename(src, dst)
        fsync_dir(dst.parent)
        fsync_dir(src.parent)


def _write_sidecar(path: Path, payload: Mapping[str, object]) -> None:
    try:
        atomic_write_text(path, json.dumps(payload, sort_keys=True) + "\n", replace=False)
    except OSError as exc:
        raise RetriableError(f"sidecar write failed: {type(exc).__name__}") from None


def _discard(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
        fsync_dir(path.parent)


def _rename_error(action: str, exc: OSError) -> Exception:
    if exc.errno == errno.EXDEV:
        return ConfigError(f"{action}: work and quarantine must be on the drop folders' filesystem")
    return RetriableError(f"{action} failed: {type(exc).__name__}")


def claim(
    candidate: DropCandidate, work_dir: Path, *, fingerprint_key: bytes | None = None
) -> ClaimedFile | None:
    """Take ownership of a settled file by renaming it to ``work_dir/<claim_id><suffix>``.

    Order: re-check identity (lstat) -> write the sidecar (atomic) -> rename (the mutex) ->
    re-check identity on the claimed name -> remove the ``.done`` marker -> fsync. Because
    the sidecar is durable before the rename, a claimed file always knows its agency; a
    sidecar without its file means the claim never happened (see :func:`pending_claims`).

    Returns None when the file vanished (another worker won, or the agency removed it) or
    no longer matches the candidate. If it changed *after* our rename, the writer still
    holds it: it goes back to the drop folder under its own name if that name is free, else
    under the neutral name ``<claim_id><suffix>``, and settles again from scratch. Nothing
    stays in ``work/`` unless it is a complete claim, so recovery has one case to handle.

    Raises ``RetriableError`` (folder not writable, I/O) or ``ConfigError`` (``work_dir`` on
    another filesystem); the file is then untouched in the drop folder. ``fingerprint_key``
    keys the claim's name fingerprint (see :func:`name_fingerprint`).
    """
    suffix = os.path.splitext(candidate.path.name)[1].lower()
    if not _SUFFIX_RE.fullmatch(suffix):
        raise ValueError("candidate has no claimable suffix")
    try:
        with _held_drop(candidate.path, candidate.agency_id) as held:
            return _claim_held(
                candidate, held / candidate.path.name, suffix, work_dir, fingerprint_key
            )
    except (UnsafeFolderError, FileNotFoundError):
        return None  # the scanner reports an unsafe drop folder; a missing one has no file


def _held_drop(path: Path, agency_id: str) -> contextlib.AbstractContextManager[Path]:
    """The drop folder holding ``path`` (``<agencies>/<agency>/drop/<name>``), opened
    without following links (see hmis_handoff.safedir)."""
    return held_dir(path.parents[2], (agency_id, "drop"), f"drop of agency {agency_id}")


def _claim_held(
    candidate: DropCandidate,
    source: Path,
    suffix: str,
    work_dir: Path,
    fingerprint_key: bytes | None,
) -> ClaimedFile | None:
    """:func:`claim` with ``source`` addressed through the held drop folder."""
    if not _matches(source, candidate):
        return None
    ensure_private_dir(work_dir)
    claim_id = new_claim_id()
    claimed_at = datetime.now(UTC)
    fingerprint = name_fingerprint(candidate.path.name, fingerprint_key)
    files = ClaimFiles(work_dir, claim_id)
    sidecar, target = files.sidecar, files.file(suffix)
    _write_sidecar(
        sidecar,
        {
            "claim_id": claim_id,
            "agency_id": candidate.agency_id,
            "claimed_at": claimed_at.isoformat(),
            "suffix": suffix,
            "name_fingerprint": fingerprint,
        },
    )
    failpoint("claim-sidecar-written")
    try:
        _atomic_rename(source, target)
    except FileNotFoundError:
        _discard(sidecar)
        return None
    except OSError as exc:
        _discard(sidecar)
        raise _rename_error("claim", exc) from None
    failpoint("claimed")
    if not _matches(target, candidate):
        if _put_back(target, source, claim_id):
            _discard(sidecar)
        return None
    with contextlib.suppress(PermissionError):
        # The file keeps the agency's mode; work/ is 0700 anyway, so a file we do not own
        # (chmod refused) is still private.
        os.chmod(target, FILE_MODE)
    if candidate.done_marker is not None:
        _discard(source.with_name(candidate.done_marker.name))
    return ClaimedFile(
        claim_id=claim_id,
        agency_id=candidate.agency_id,
        path=target,
        suffix=suffix,
        claimed_at=claimed_at,
        name_fingerprint=fingerprint,
    )


def _put_back(claimed: Path, original: Path, claim_id: str) -> bool:
    """Return a file that changed under the claim to its drop folder; never replace anything.

    Returns False (and logs the claim id) only if it could not be moved at all; the claim is
    then left whole, so the file is not lost and recovery hands it to the pipeline.
    """
    neutral = ClaimFiles(original.parent, claim_id).file(claimed.suffix)
    for destination in (original, neutral):
        try:
            try:
                rename_no_replace(claimed, destination)
            except NotImplementedError:
                move_no_replace(claimed, destination)
            return True
        except FileExistsError:
            continue
        except OSError:
            break
    logger.warning("claim %s changed after the claim and could not be put back", claim_id)
    return False


# Recovery ------------------------------------------------------------------------------------


def _read_sidecar(path: Path) -> dict[str, Any] | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        raw = handle.read(_SIDECAR_MAX_BYTES + 1)
    try:
        payload = json.loads(raw) if len(raw) <= _SIDECAR_MAX_BYTES else None
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def _claim_from_sidecar(work_dir: Path, claim_id: str, payload: dict[str, Any]) -> ClaimedFile:
    agency_id, suffix = payload.get("agency_id"), payload.get("suffix")
    fingerprint, stamp = payload.get("name_fingerprint"), payload.get("claimed_at")
    if not (
        payload.get("claim_id") == claim_id
        and isinstance(agency_id, str)
        and _AGENCY_RE.fullmatch(agency_id)
        and isinstance(suffix, str)
        and _SUFFIX_RE.fullmatch(suffix)
        and isinstance(fingerprint, str)
        and isinstance(stamp, str)
    ):
        raise ValueError("sidecar fields")
    claimed_at = datetime.fromisoformat(stamp)
    if claimed_at.tzinfo is None:
        raise ValueError("sidecar time without zone")
    return ClaimedFile(
        claim_id=claim_id,
        agency_id=agency_id,
        path=ClaimFiles(work_dir, claim_id).file(suffix),
        suffix=suffix,
        claimed_at=claimed_at.astimezone(UTC),
        name_fingerprint=fingerprint,
    )


def pending_claims(work_dir: Path, *, orphan_grace_seconds: float = 300.0) -> list[ClaimedFile]:
    """Every complete claim in ``work_dir`` (file + sidecar), oldest first, for recovery.

    A sidecar without its file is a claim that never happened (crash between sidecar and
    rename, or the pipeline finished and crashed mid-cleanup); it is deleted once older than
    ``orphan_grace_seconds``, which keeps this safe while another worker is between those
    two steps. So is a claim's lock file (``<claim_id>.lock``) once both its sidecar and
    its file are gone: the pipeline removes it last, so a crash just before leaves it behind
    (deleting the name never breaks a lock someone holds: flock is on the open file). A
    claim-named file without a sidecar cannot occur through :func:`claim`; it is logged by
    claim id and left alone. Unreadable sidecars are logged and left alone. This only
    lists: which process works on a claim is the pipeline's business.
    """
    try:
        with os.scandir(work_dir) as iterator:
            names = {entry.name for entry in iterator}
    except FileNotFoundError:
        return []
    claims: list[ClaimedFile] = []
    sidecar_ids: set[str] = set()
    for name in sorted(names):
        claim_id = claim_id_of(name)
        if claim_id is None:
            continue
        sidecar_ids.add(claim_id)
        payload = _read_sidecar(work_dir / name)
        try:
            claimed = _claim_from_sidecar(work_dir, claim_id, payload or {})
        except ValueError:
            logger.warning("claim %s has an unreadable sidecar; left in place", claim_id)
            continue
        if claimed.path.name in names:
            claims.append(claimed)
            continue
        age = (datetime.now(UTC) - claimed.claimed_at).total_seconds()
        if age >= orphan_grace_seconds:
            _discard(work_dir / name)
            # Its lock (if any) is now an orphan too: judged below in this same pass, or
            # recovery would take two runs to empty the work area.
            sidecar_ids.discard(claim_id)
    for name in sorted(names):
        stem, suffix = os.path.splitext(name)
        if not is_claim_id(stem) or stem in sidecar_ids:
            continue
        if suffix == CLAIM_LOCK_SUFFIX:
            _discard_orphan_lock(work_dir / name, orphan_grace_seconds)
        elif _SUFFIX_RE.fullmatch(suffix):
            logger.warning("claim %s has a file but no sidecar; left in place", stem)
    return claims


def load_claim(work_dir: Path, claim_id: str) -> ClaimedFile | None:
    """The complete claim ``claim_id`` (file + readable sidecar), or None; reads one sidecar.

    What :func:`pending_claims` would list for this id, without listing the work area (a
    flow handing off 1,000 claims one by one would otherwise read 1,000 sidecars each time).
    """
    if not is_claim_id(claim_id):
        return None
    payload = _read_sidecar(ClaimFiles(work_dir, claim_id).sidecar)
    try:
        claimed = _claim_from_sidecar(work_dir, claim_id, payload or {})
    except ValueError:
        return None
    return claimed if os.path.lexists(claimed.path) else None


def _discard_orphan_lock(path: Path, grace_seconds: float) -> None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISREG(st.st_mode) and time.time() - st.st_mtime >= grace_seconds:
        _discard(path)


# Quarantine ----------------------------------------------------------------------------------


def quarantine_refusal(refusal: Refusal, quarantine_dir: Path) -> Path | None:
    """Move a refused object out of the drop folder into ``quarantine_dir``; never read it.

    A rename moves the object itself, so this is safe for every kind: a symlink moves as a
    link (its target is untouched), a FIFO, socket or device is never opened, a directory
    moves whole, and a hard link moves one name (the other names keep the bytes; a second
    name in another drop folder is refused and quarantined too, because we cannot know
    which agency the bytes belong to). A refusal sidecar (agency, rule, fingerprint, kind,
    time; :class:`hmis_handoff.workarea.RefusalFacts`) is written first.

    Returns the quarantined path, or None when nothing was moved: ``FILE-UNREADABLE`` files
    stay where they are (the scanner retries them once permissions are fixed), and an
    object that vanished or was replaced since the scan is left to the next scan.
    Raises ``RetriableError`` / ``ConfigError`` like :func:`claim`.
    """
    if refusal.reason_rule_id == RULE_UNREADABLE:
        return None
    try:
        with _held_drop(refusal.path, refusal.agency_id) as held:
            return _quarantine_held(refusal, held / refusal.path.name, quarantine_dir)
    except (UnsafeFolderError, FileNotFoundError):
        return None  # never move anything out of a folder we cannot trust


def _quarantine_held(refusal: Refusal, source: Path, quarantine_dir: Path) -> Path | None:
    """:func:`quarantine_refusal` with ``source`` addressed through the held drop folder."""
    try:
        st = os.lstat(source)
    except OSError:
        return None
    if _kind(st) != refusal.kind or refusal.inode not in (None, st.st_ino):
        return None  # replaced since the scan (inode numbers are reused at once)
    ensure_private_dir(quarantine_dir)
    files = QuarantineFiles(quarantine_dir, new_claim_id())
    sidecar, target = files.sidecar, files.moved
    _write_sidecar(
        sidecar,
        RefusalFacts(
            quarantine_id=files.quarantine_id,
            agency_id=refusal.agency_id,
            reason_rule_id=refusal.reason_rule_id,
            name_fingerprint=refusal.fingerprint,
            kind=_kind(st),
            quarantined_at=datetime.now(UTC).isoformat(),
        ),
    )
    try:
        _atomic_rename(source, target)
    except FileNotFoundError:
        _discard(sidecar)
        return None
    except OSError as exc:
        _discard(sidecar)
        raise _rename_error("quarantine", exc) from None
    return target
