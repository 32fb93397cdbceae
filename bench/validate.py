"""Benchmark: our reader + pandera intake schema against the naive way, side by side.

First a 3-row file (each figure from a fresh child process):

* ``small-ours``: ``validate_intake`` on the read frame, median of 200 warm runs;
* ``small-baseline``: ``read_csv(dtype=str)`` + the same full schema
  (``schemas.intake_schema``) validated the plain pandera way, median of 200 warm runs;
* ``batch-ours``: 1,000 such files through ``schemas.batch.validate_batch`` in batches of
  250 (one pandera validation and one cross-row pass per batch), total time.

Then for each size, a synthetic valid intake file (``tests.synthetic.make_valid_frame``,
households of three, FY2026 columns) is written as a UTF-8 CSV, and each mode runs in a
fresh child process so its peak RSS is its own:

* ``ours-chunked``: ``connectors.reader.iter_intake_chunks`` (50,000-row chunks) feeding
  ``schemas.validate.ChunkedValidation``: bounded memory, any size;
* ``ours-whole``: ``read_intake`` + ``validate_intake``, what the pipeline does per file
  (only up to the default 200,000-row limit);
* ``baseline``: ``pandas.read_csv(dtype=str, keep_default_na=False)`` + one plain
  ``validate(lazy=True)`` of the same full schema over the whole file (no structural
  checks, no chunks);
* ``pyarrow``: ``pyarrow.csv.read_csv`` with every column as string, a parse-only
  reference for how fast the bytes can be split.

Usage::

    .venv/bin/python bench/validate.py                        # 10,000, 100,000, 1,000,000
    .venv/bin/python bench/validate.py --sizes 10000,100000   # quick
    .venv/bin/python bench/validate.py --modes ours-chunked,pyarrow --sizes 1000000
    .venv/bin/python bench/validate.py --keep /tmp/bench      # keep the generated files

The files are written with ``DataFrame.to_csv`` (RFC 4180, CRLF), which gives the same
bytes as ``tests.synthetic.write_sample_csv`` for these frames about ten times faster.
Seconds exclude interpreter start-up and imports; "RSS after imports" is what the child
held before reading, so peak minus that is the reader's own footprint. The load average
is printed first: on a shared machine the figures are ranges, not points.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MODES = ("ours-chunked", "ours-whole", "baseline", "pyarrow")
#: Small-file figures: one 3-row file (median of SMALL_REPEATS warm runs) and
#: BATCH_FILES such files validated as batches of BATCH_SIZE (schemas.batch).
SMALL_MODES = ("small-ours", "small-baseline", "batch-ours")
SMALL_REPEATS = 200
BATCH_FILES = 1000
BATCH_SIZE = 250
WHOLE_FILE_MAX_ROWS = 200_000
CHUNK_ROWS = 50_000


def _peak_mb() -> float:
    """Peak RSS of this address space (VmHWM). ``ru_maxrss`` would be wrong here: it
    survives ``exec`` and so starts at the parent's size."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _ours_chunked(path: Path) -> int:
    from connectors.reader import ReadLimits, iter_intake_chunks
    from schemas.columns import canonical_header
    from schemas.validate import ChunkedValidation, ValidationContext
    from tests.synthetic import AGENCY_ID, TODAY

    limits = ReadLimits(max_bytes=2**40, max_rows=10**8)
    run = ChunkedValidation(ValidationContext(agency_id=AGENCY_ID, today=TODAY))
    rows = problems = 0
    for part in iter_intake_chunks(
        path, header_map=canonical_header, limits=limits, chunk_rows=CHUNK_ROWS
    ):
        outcome = run.validate_chunk(part.frame)
        rows += len(part.frame)
        problems += len(outcome.problems)
    problems += len(run.finish().problems)
    return rows


def _ours_whole(path: Path) -> int:
    from connectors.reader import ReadLimits, read_intake
    from schemas.columns import canonical_header
    from schemas.validate import ValidationContext, validate_intake
    from tests.synthetic import AGENCY_ID, TODAY

    limits = ReadLimits(max_bytes=2**40, max_rows=WHOLE_FILE_MAX_ROWS)
    result = read_intake(path, header_map=canonical_header, limits=limits)
    validate_intake(result.frame, ValidationContext(agency_id=AGENCY_ID, today=TODAY))
    return len(result.frame)


def _context() -> Any:
    from schemas.validate import ValidationContext
    from tests.synthetic import AGENCY_ID, TODAY

    return ValidationContext(agency_id=AGENCY_ID, today=TODAY)


def _plain_pandera(frame: Any) -> None:
    """The same full schema the plain pandera way: one ``validate(lazy=True)`` (copying the
    frame, as pandera does by default) on the frame as ``read_csv`` gave it."""
    import pandera.errors

    from schemas.intake_schema import intake_schema, prepare

    # Valid data is expected; a failure would still have cost the full lazy pass.
    with contextlib.suppress(pandera.errors.SchemaErrors):
        intake_schema("FY2026", _context()).validate(prepare(frame, "FY2026"), lazy=True)


def _baseline(path: Path) -> int:
    import pandas as pd

    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    _plain_pandera(frame)
    return len(frame)


def _median_ms(call: Callable[[], object], repeats: int) -> float:
    import statistics

    for _ in range(5):  # warm
        call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def _small_frame(path: Path) -> Any:
    from connectors.reader import ReadLimits, read_intake
    from schemas.columns import canonical_header

    limits = ReadLimits(max_bytes=2**30, max_rows=WHOLE_FILE_MAX_ROWS)
    return read_intake(path, header_map=canonical_header, limits=limits).frame


def _small_ours(path: Path) -> float:
    from schemas.validate import validate_intake

    frame, context = _small_frame(path), _context()
    return _median_ms(lambda: validate_intake(frame, context), SMALL_REPEATS)


def _small_baseline(path: Path) -> float:
    import pandas as pd

    return _median_ms(
        lambda: _plain_pandera(pd.read_csv(path, dtype=str, keep_default_na=False)),
        SMALL_REPEATS,
    )


def _batch_ours(path: Path) -> float:
    from schemas.batch import validate_batch

    frame, context = _small_frame(path), _context()
    validate_batch({0: frame}, context)  # warm
    start = time.perf_counter()
    for first in range(0, BATCH_FILES, BATCH_SIZE):
        validate_batch({n: frame for n in range(first, first + BATCH_SIZE)}, context)
    return (time.perf_counter() - start) * 1000


def _pyarrow(path: Path) -> int:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    with path.open("rb") as handle:
        names = handle.readline().decode().rstrip("\r\n").split(",")
    table = pacsv.read_csv(
        path,
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False
        ),
    )
    return int(table.num_rows)


RUNNERS: dict[str, Callable[[Path], int]] = {
    "ours-chunked": _ours_chunked,
    "ours-whole": _ours_whole,
    "baseline": _baseline,
    "pyarrow": _pyarrow,
}
SMALL_RUNNERS: dict[str, Callable[[Path], float]] = {
    "small-ours": _small_ours,
    "small-baseline": _small_baseline,
    "batch-ours": _batch_ours,
}
# Imported before the clock starts, so seconds measure work and not module loading.
PRELOAD: dict[str, tuple[str, ...]] = {
    "ours-chunked": ("connectors.reader", "schemas.validate", "schemas.columns"),
    "ours-whole": ("connectors.reader", "schemas.validate", "schemas.columns"),
    "baseline": ("pandas", "pandera.errors", "schemas.intake_schema"),
    "pyarrow": ("pyarrow.csv",),
    "small-ours": ("connectors.reader", "schemas.validate", "schemas.columns"),
    "small-baseline": ("pandas", "pandera.errors", "schemas.intake_schema"),
    "batch-ours": ("connectors.reader", "schemas.batch", "schemas.columns"),
}


def child(mode: str, path: Path) -> dict[str, Any]:
    """Run one measurement in this process (called in a fresh child)."""
    import importlib

    for module in PRELOAD[mode]:
        importlib.import_module(module)
    if mode in SMALL_MODES:
        small = SMALL_RUNNERS[mode](path)
        return {"mode": mode, "ms": small, "peak_mb": _peak_mb()}
    after_imports = _peak_mb()
    start = time.perf_counter()
    rows = RUNNERS[mode](path)
    seconds = time.perf_counter() - start
    return {
        "mode": mode,
        "rows": rows,
        "seconds": seconds,
        "peak_mb": _peak_mb(),
        "import_mb": after_imports,
    }


def measure(mode: str, path: Path) -> dict[str, Any]:
    """Run ``mode`` on ``path`` in a fresh interpreter and return its figures."""
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        return {"mode": mode, "error": tail[0][:200]}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def generate(rows: int, path: Path) -> None:
    """Write a valid synthetic intake CSV of ``rows`` rows (called in a child process)."""
    from tests.synthetic import make_valid_frame

    frame = make_valid_frame(rows, household_size=3)
    frame.to_csv(path, index=False, lineterminator="\r\n")


def write_file(rows: int, directory: Path) -> Path:
    """The file for ``rows``, generated in a child so this process stays small."""
    path = directory / f"intake-{rows}.csv"
    if not path.exists():
        subprocess.run(
            [sys.executable, __file__, "--generate", str(rows), str(path)], check=True, cwd=ROOT
        )
    return path


def _row(result: dict[str, Any]) -> str:
    if "error" in result:
        return f"  {result['mode']:<13} failed: {result['error']}"
    if "ms" in result:
        what = (
            f"{BATCH_FILES} files in batches of {BATCH_SIZE}"
            if result["mode"] == "batch-ours"
            else f"median of {SMALL_REPEATS} warm runs"
        )
        return f"  {result['mode']:<14} {result['ms']:8.1f} ms  ({what})"
    rate = result["rows"] / result["seconds"] if result["seconds"] else float("inf")
    return (
        f"  {result['mode']:<13} {result['seconds']:8.2f} s  {rate:>11,.0f} rows/s  "
        f"peak {result['peak_mb']:7.0f} MB  (after imports {result['import_mb']:4.0f} MB)"
    )


def run(sizes: list[int], directory: Path, modes: tuple[str, ...] = MODES) -> None:
    print(f"python {sys.version.split()[0]}; each figure from a fresh child process")
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    small = write_file(3, directory)
    print("\n3-row file")
    for mode in SMALL_MODES:
        print(_row(measure(mode, small)), flush=True)
    for size in sizes:
        path = write_file(size, directory)
        print(f"\n{size:,} rows, {path.stat().st_size / 2**20:.1f} MiB")
        results: dict[str, dict[str, Any]] = {}
        for mode in modes:
            if mode == "ours-whole" and size > WHOLE_FILE_MAX_ROWS:
                continue
            results[mode] = measure(mode, path)
            print(_row(results[mode]), flush=True)
        base = results.get("baseline", {})
        arrow, chunked = results.get("pyarrow", {}), results.get("ours-chunked", {})
        if "seconds" in arrow and "seconds" in chunked:
            ratio = chunked["seconds"] / arrow["seconds"]
            print(f"  ours-chunked / pyarrow parse: {ratio:.1f}x")
        for mode in ("ours-chunked", "ours-whole"):
            ours = results.get(mode, {})
            if "seconds" in ours and "seconds" in base:
                print(
                    f"  {mode} / baseline: time {ours['seconds'] / base['seconds']:.2f}x, "
                    f"rows/s {base['seconds'] / ours['seconds']:.2f}x, "
                    f"peak RSS {ours['peak_mb'] / base['peak_mb']:.2f}x"
                )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated rows")
    parser.add_argument("--keep", type=Path, help="write (and reuse) the files here")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated modes")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--generate", nargs=2, metavar=("ROWS", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.generate:
        generate(int(args.generate[0]), Path(args.generate[1]))
        return
    if args.child:
        mode, path = args.child
        print(json.dumps(child(mode, Path(path))))
        return
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    modes = tuple(m for m in args.modes.split(",") if m in MODES)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        run(sizes, args.keep, modes)
        return
    with tempfile.TemporaryDirectory(prefix="bench-validate-") as tmp:
        run(sizes, Path(tmp), modes)


if __name__ == "__main__":
    main()
