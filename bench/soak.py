"""Soak: many files of mixed sizes, 20% bad, through the real pipeline for a long time.

A producer thread drops files into the demo agency's drop folder at an even rate over the
run (each written under a temp name and renamed in, as an uploader would); the main loop
sweeps like ``handoff process`` does (scan, claim, hand off each file with the real
ledger, age encryption, signing and reports: the core pipeline, without Prefect's
per-run overhead). Every ``--sample`` seconds it records RSS and open file descriptors.
At the end it prints:

* RSS at the first sample after warm-up, at the end, and the growth between them;
* open fds at start and end (a leak grows them);
* latency per file, drop (rename) to terminal ledger state: p50, p99, max;
* the exactly-once invariants: one ledger row per dropped file, every good file
  delivered and every bad one rejected, one package per delivered file, an empty
  drop folder and work area, and no plaintext canary anywhere under the data root.

Sizes: 80% small (1-20 rows), 15% medium (100-500), 5% large (2,000-5,000). Bad files
(20%) are binary junk, an empty file, a UTF-8 file with a stray cp1252 byte, a file whose
rows all have an invalid code, and a file with unbalanced quotes.

    .venv/bin/python bench/soak.py                          # short try: 200 files, 2 minutes
    .venv/bin/python bench/soak.py --files 5000 --minutes 30
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CANARY = b"SOAKCANARY"
BAD_KINDS = ("binary", "empty", "mixed-encoding", "all-rows-invalid", "quote")


@dataclass
class Dropped:
    name: str
    bad: bool
    at: float


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _rows(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.80:
        return rng.randint(1, 20)
    if roll < 0.95:
        return rng.randint(100, 500)
    return rng.randint(2000, 5000)


def _content(index: int, bad: bool, rng: random.Random, next_person: list[int]) -> bytes:
    from tests.synthetic import make_valid_frame

    if bad:
        kind = BAD_KINDS[index % len(BAD_KINDS)]
        if kind == "binary":
            return b"\x00\x01PK" + CANARY + rng.randbytes(256)
        if kind == "empty":
            return b""
    n = _rows(rng)
    frame = make_valid_frame(n, start=next_person[0])
    next_person[0] += n
    frame["CollectedByUser"] = f"{CANARY.decode()}{index}"
    if bad and kind == "all-rows-invalid":
        frame["VeteranStatus"] = "7"
    text = frame.to_csv(index=False, lineterminator="\r\n")
    data = text.encode("utf-8")
    if bad and kind == "mixed-encoding":
        # UTF-8 (ë) and one cp1252 byte (é) in the same name: FILE-MIXED-ENCODING.
        data = data.replace(b"Testperson", "Zoë".encode() + "é".encode("cp1252"), 1)
    if bad and kind == "quote":
        data += b'"' + CANARY + b",unterminated\r\n"
    return data


def _produce(
    drop: Path, files: int, seconds: float, bad_share: float, seed: int, out: list[Dropped]
) -> None:
    rng = random.Random(seed)
    next_person = [1]
    start = time.monotonic()
    for index in range(files):
        due = start + seconds * index / max(files, 1)
        time.sleep(max(0.0, due - time.monotonic()))
        bad = rng.random() < bad_share
        data = _content(index, bad, rng, next_person)
        name = f"intake-{index:05d}.csv"
        temp = drop / f"{name}.part"
        temp.write_bytes(data)
        os.rename(temp, drop / name)
        out.append(Dropped(name, bad, time.monotonic()))


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description="soak the pipeline")
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--bad", type=float, default=0.2, help="share of bad files")
    parser.add_argument("--sample", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--seed", type=int, default=9)
    args = parser.parse_args()

    from connectors.dropfolder import DropFolderScanner, SettlePolicy, claim
    from hmis_handoff.config import load_settings
    from hmis_handoff.ledger import FileState
    from usecases.handoff import Handoff
    from usecases.initialise import initialise

    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        root = Path(tmp) / "data"
        initialise(root, demo=True)
        for sample in (root / "agencies" / "demo-agency" / "drop").iterdir():
            sample.unlink()  # the demo sample is not part of the run
        settings = load_settings(root / "handoff.toml")
        pipe = Handoff(settings, clock=lambda: datetime(2026, 3, 9, 15, 0, tzinfo=UTC))
        drop = pipe.layout.agency_drop("demo-agency")
        scanner = DropFolderScanner(
            pipe.layout.agencies, ["demo-agency"], SettlePolicy(stable_seconds=0.5)
        )
        dropped: list[Dropped] = []
        producer = threading.Thread(
            target=_produce,
            args=(drop, args.files, args.minutes * 60, args.bad, args.seed, dropped),
            daemon=True,
        )
        fds_start = _fds()
        started = time.monotonic()
        producer.start()
        latencies: list[float] = []
        samples: list[tuple[float, int, int]] = []
        next_sample = started
        by_name: dict[str, float] = {}
        while producer.is_alive() or os.listdir(drop):
            for item in dropped[len(by_name) :]:
                by_name[item.name] = item.at
            result = scanner.scan()
            for candidate in result.settled:
                at = by_name.get(candidate.path.name, time.monotonic())
                claimed = claim(candidate, pipe.layout.work)
                if claimed is None:
                    continue
                scanner.forget(candidate.path)
                if pipe.process_claim(claimed) is not None:
                    latencies.append(time.monotonic() - at)
            if time.monotonic() >= next_sample:
                samples.append((time.monotonic() - started, _rss_kib(), _fds()))
                next_sample += args.sample
                print(
                    f"  t={samples[-1][0]:6.0f} s  dropped {len(dropped):5d}  done "
                    f"{len(latencies):5d}  RSS {samples[-1][1] / 1024:5.0f} MiB  "
                    f"fds {samples[-1][2]}",
                    flush=True,
                )
            time.sleep(0.05 if result.pending else 0.2)
        elapsed = time.monotonic() - started
        samples.append((elapsed, _rss_kib(), _fds()))

        files = pipe.ledger.files()
        good = [d for d in dropped if not d.bad]
        bad = [d for d in dropped if d.bad]
        states: dict[str, int] = {}
        for view in files:
            states[view.state] = states.get(view.state, 0) + 1
        outbox = pipe.layout.partner_outbox("demo-partner")
        packages = len(list(outbox.glob("*.age")))
        delivered_with_rows = sum(
            1 for v in files if v.state == FileState.DELIVERED and v.rows_sent
        )
        leaks = [
            p
            for p in root.rglob("*")
            if p.is_file() and "drop" not in p.parts and CANARY in p.read_bytes()
        ]
        checks = {
            "one ledger row per dropped file": len(files) == len(dropped),
            "good files delivered": states.get(FileState.DELIVERED, 0) == len(good),
            "bad files rejected": states.get(FileState.REJECTED, 0) == len(bad),
            "one package per delivered file": packages == delivered_with_rows,
            "drop folder empty": os.listdir(drop) == [],
            "work area empty": os.listdir(pipe.layout.work) == [],
            "no plaintext canary outside drop folders": leaks == [],
        }
        warm = samples[min(1, len(samples) - 1)]
        print(f"soak: {len(dropped)} files ({len(bad)} bad) in {elapsed / 60:.1f} min")
        print(f"states: {dict(sorted(states.items()))}; packages {packages}")
        print(
            f"RSS: {warm[1] / 1024:.0f} MiB after warm-up -> {samples[-1][1] / 1024:.0f} MiB "
            f"at the end (growth {(samples[-1][1] - warm[1]) / 1024:+.0f} MiB); "
            f"peak {max(s[1] for s in samples) / 1024:.0f} MiB"
        )
        print(f"open fds: {fds_start} at start, {samples[-1][2]} at the end")
        print(
            f"latency drop->terminal: p50 {_percentile(latencies, 0.5):.2f} s, "
            f"p99 {_percentile(latencies, 0.99):.2f} s, max {max(latencies, default=0):.2f} s"
        )
        for name, ok in checks.items():
            print(f"  [{'ok' if ok else 'FAILED'}] {name}")
        return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
