"""Benchmark: our age implementation against Debian's ``age`` CLI, file to file.

Usage::

    .venv/bin/python bench/crypto.py [--size-mib 256] [--runs 5] [--dir DIR]

Encrypts and decrypts one random file with each side, in separate child processes run
alternately (so background load hits both alike), and prints median MB/s, the ratio ours/age
and each child's peak RSS. Ours is measured twice:

* ``stream``: :func:`age.encrypt` / :func:`age.decrypt` between open files, the same job the
  ``age`` CLI does;
* ``file``: :func:`age.encrypt_file` / :func:`age.decrypt_file`, which also hash both sides
  (SHA-256) and write temp + fsync + rename, i.e. what the pipeline actually calls.

Like is compared with like, twice. **Whole processes**: ``age`` as a process against our
child process (interpreter, imports, key file and the job) and against our own command line
(``handoff encrypt``; the CLI's decrypt needs a signed package, so it has no counterpart
here). **Work only**: our library call timed inside the child against ``age``'s wall time
minus its own start-up (median ``age`` run on an empty file), since a Go binary cannot be
timed in-process. Peak RSS is also measured at 1/16 of the
size to show that memory does not grow with the file. Temp files live in a fresh directory
under ``--dir`` (default: the system temp dir) and are removed at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from hmis_handoff.crypto import age  # noqa: E402

MIB = 1024 * 1024
AGE = "/usr/bin/age"
GNU_TIME = "/usr/bin/time"


@dataclass
class Run:
    seconds: float
    process_seconds: float
    peak_rss_kib: int


def _child(mode: str, src: Path, dst: Path, key: Path) -> None:
    """Run one operation in this (child) process and print its timing as JSON."""
    identities = age.parse_identities_file(key)
    recipients = [identity.recipient for identity in identities]  # type: ignore[attr-defined]
    start = time.perf_counter()
    if mode == "encrypt":
        with open(src, "rb", buffering=0) as source, open(dst, "wb") as out:
            age.encrypt(source, out, recipients)
    elif mode == "decrypt":
        with open(src, "rb", buffering=0) as source, open(dst, "wb") as out:
            age.decrypt(source, out, identities)
    elif mode == "encrypt_file":
        age.encrypt_file(src, dst, recipients)
    elif mode == "decrypt_file":
        age.decrypt_file(src, dst, identities)
    else:
        raise SystemExit(f"unknown mode {mode}")
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "peak_rss_kib": _own_peak_rss_kib()}))


def _own_peak_rss_kib() -> int:
    """This process's peak RSS since exec (VmHWM); ``ru_maxrss`` would include the parent's."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def _spawn(argv: list[str]) -> tuple[float, bytes, bytes]:
    """Run ``argv`` to completion; returns (wall seconds, stdout, stderr)."""
    start = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{argv[0]} failed: {result.stderr.decode(errors='replace')}")
    return elapsed, result.stdout, result.stderr


def _ours(mode: str, src: Path, dst: Path, key: Path) -> Run:
    dst.unlink(missing_ok=True)
    argv = [sys.executable, __file__, "--child", mode, str(src), str(dst), str(key)]
    wall, out, _ = _spawn(argv)
    report = json.loads(out)
    return Run(report["seconds"], wall, report["peak_rss_kib"])


def _theirs(flags: list[str], src: Path, dst: Path) -> Run:
    """Time the age CLI; peak RSS comes from GNU time (a small parent), when installed.

    ``ru_maxrss`` of a child spawned from this process would start at our own RSS, because
    the kernel carries the high-water mark across ``exec``.
    """
    dst.unlink(missing_ok=True)
    argv = [AGE, *flags, "-o", str(dst), str(src)]
    if Path(GNU_TIME).exists():
        wall, _, err = _spawn([GNU_TIME, "-f", "maxrss=%M", *argv])
        return Run(wall, wall, int(err.decode().rsplit("maxrss=", 1)[1].split()[0]))
    wall, _, _ = _spawn(argv)
    return Run(wall, wall, 0)


def _cli_encrypt(src: Path, dst: Path, recipient: str) -> Run:
    """Our command line as an operator runs it: ``handoff encrypt`` as a whole process."""
    dst.unlink(missing_ok=True)
    argv = [sys.executable, "-m", "cli", "encrypt", str(src), "-r", recipient]
    wall, _, _ = _spawn([*argv, "-o", str(dst)])
    return Run(wall, wall, 0)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(MIB):
            digest.update(block)
    return digest.hexdigest()


def _write_random(path: Path, size: int) -> None:
    with open(path, "wb") as out:
        left = size
        while left:
            block = os.urandom(min(left, 4 * MIB))
            out.write(block)
            left -= len(block)


def _median(runs: list[Run], attr: str) -> float:
    return statistics.median(float(getattr(r, attr)) for r in runs)


def _mbps(size: int, runs: list[Run], attr: str = "seconds", minus: float = 0.0) -> float:
    return size / max(_median(runs, attr) - minus, 1e-9) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--child", nargs=4, metavar=("MODE", "SRC", "DST", "KEY"))
    args = parser.parse_args()
    if args.child:
        mode, src, dst, key = args.child
        _child(mode, Path(src), Path(dst), Path(key))
        return
    if not Path(AGE).exists():
        raise SystemExit("Debian's age is not installed at /usr/bin/age (apt-get install age)")
    size = args.size_mib * MIB
    version = subprocess.run([AGE, "--version"], capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="hmis-crypto-bench-", dir=args.dir) as tmp:
        work = Path(tmp)
        key = work / "key.txt"
        identity = age.X25519Identity.generate()
        age.write_identity_file(key, identity)
        plain = work / "plain.bin"
        _write_random(plain, size)
        small = work / "small.bin"
        _write_random(small, max(size // 16, 1))
        recipient = str(identity.recipient)
        theirs_ct, theirs_pt = work / "theirs.age", work / "theirs.out"
        ours_ct, ours_pt = work / "ours.age", work / "ours.out"
        results: dict[str, list[Run]] = {
            k: []
            for k in (
                "age enc",
                "age dec",
                "stream enc",
                "stream dec",
                "file enc",
                "file dec",
                "cli enc",
                "age startup",
            )
        }
        empty = work / "empty.bin"
        empty.write_bytes(b"")
        for _ in range(args.runs):
            results["age enc"].append(_theirs(["-e", "-r", recipient], plain, theirs_ct))
            results["stream enc"].append(_ours("encrypt", plain, ours_ct, key))
            results["file enc"].append(_ours("encrypt_file", plain, ours_ct, key))
            results["age dec"].append(_theirs(["-d", "-i", str(key)], ours_ct, theirs_pt))
            results["stream dec"].append(_ours("decrypt", theirs_ct, ours_pt, key))
            results["file dec"].append(_ours("decrypt_file", theirs_ct, ours_pt, key))
            results["cli enc"].append(_cli_encrypt(plain, ours_ct, recipient))
            results["age startup"].append(_theirs(["-e", "-r", recipient], empty, theirs_ct))
        expected = _sha256(plain)
        assert _sha256(theirs_pt) == expected, "age could not decrypt our file"
        assert _sha256(ours_pt) == expected, "we could not decrypt age's file"
        small_ct, small_pt = work / "small.age", work / "small.out"
        small_enc = _ours("encrypt_file", small, small_ct, key)
        small_dec = _ours("decrypt_file", small_ct, small_pt, key)
        print(
            f"age benchmark: {args.size_mib} MiB random data, median of {args.runs} runs, "
            f"files in {args.dir} ({_fs_type(work)}), {os.cpu_count()} CPUs, "
            f"load average {os.getloadavg()[0]:.2f}"
        )
        print(f"Python {sys.version.split()[0]}, cryptography {_cryptography_version()}, {version}")
        print()
        age_start = _median(results["age startup"], "seconds")
        print("Whole processes (start-up included on both sides):")
        print(f"{'':48}{'encrypt':>10}{'decrypt':>10}   peak RSS enc/dec")
        whole = [
            ("age CLI (Go)", "age", "seconds"),
            ("ours: handoff encrypt (CLI)", "cli", "seconds"),
            ("ours: child running encrypt()/decrypt()", "stream", "process_seconds"),
            ("ours: child running *_file() (+SHA-256, fsync)", "file", "process_seconds"),
        ]
        for label, prefix, attr in whole:
            enc = results[f"{prefix} enc"]
            dec = results.get(f"{prefix} dec", [])
            dec_text = f"{_mbps(size, dec, attr):>5.0f} MB/s" if dec else f"{'n/a':>10}"
            rss = " / ".join(_rss(runs) for runs in (enc, dec) if runs)
            print(f"{label:48}{_mbps(size, enc, attr):>7.0f} MB/s{dec_text}   {rss}")
        print()
        print(f"Work only (ours timed in-process; age minus its start-up {age_start:.3f} s):")
        age_enc = _mbps(size, results["age enc"], minus=age_start)
        age_dec = _mbps(size, results["age dec"], minus=age_start)
        print(f"{'age CLI (Go), wall - start-up':48}{age_enc:>7.0f} MB/s{age_dec:>5.0f} MB/s")
        for label, prefix in (("ours encrypt()/decrypt()", "stream"), ("ours *_file()", "file")):
            enc_mbps = _mbps(size, results[f"{prefix} enc"])
            dec_mbps = _mbps(size, results[f"{prefix} dec"])
            print(
                f"{label:48}{enc_mbps:>7.0f} MB/s{dec_mbps:>5.0f} MB/s   "
                f"ratio ours/age {enc_mbps / age_enc:.2f} / {dec_mbps / age_dec:.2f}"
            )
        print()
        for label, prefix, attr in whole[1:]:
            enc_ratio = _mbps(size, results[f"{prefix} enc"], attr) / _mbps(
                size, results["age enc"]
            )
            dec_runs = results.get(f"{prefix} dec", [])
            dec_ratio = (
                f"{_mbps(size, dec_runs, attr) / _mbps(size, results['age dec']):.2f}"
                if dec_runs
                else "n/a"
            )
            print(
                f"whole-process ratio ours/age, {label}: "
                f"encrypt {enc_ratio:.2f}  decrypt {dec_ratio}"
            )
        startup = _median(results["file enc"], "process_seconds") - _median(
            results["file enc"], "seconds"
        )
        print(f"our child-process start-up (interpreter + imports + key file): {startup:.2f} s")
        print(
            f"peak RSS of ours (*_file) at {args.size_mib / 16:g} MiB vs {args.size_mib} MiB: "
            f"encrypt {_rss([small_enc])} vs {_rss(results['file enc'])}, "
            f"decrypt {_rss([small_dec])} vs {_rss(results['file dec'])}"
        )


def _rss(runs: list[Run]) -> str:
    peak = max(r.peak_rss_kib for r in runs)
    return f"{peak / 1024:.1f} MiB" if peak else "n/a"


def _fs_type(path: Path) -> str:
    best, fs = "", "unknown"
    try:
        with open("/proc/mounts") as mounts:
            for line in mounts:
                fields = line.split()
                mount = fields[1]
                if str(path).startswith(mount) and len(mount) > len(best):
                    best, fs = mount, fields[2]
    except OSError:
        pass
    return fs


def _cryptography_version() -> str:
    from importlib.metadata import version

    return version("cryptography")


if __name__ == "__main__":
    main()
