"""The longer fuzz run: the property tests of ``tests/fuzz`` with many more examples.

Usage::

    .venv/bin/python bench/fuzz.py                 # 20,000 examples per target
    .venv/bin/python bench/fuzz.py --examples 200000

It runs ``pytest tests/fuzz`` under the hypothesis profile ``long`` (see
``tests/fuzz/conftest.py``) and prints the wall time. A failure prints hypothesis's shrunk
example; add it as an ``@example`` to the test so CI keeps it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=20_000, help="examples per target")
    args = parser.parse_args()
    env = {
        **os.environ,
        "HYPOTHESIS_PROFILE": "long",
        "HANDOFF_FUZZ_EXAMPLES": str(args.examples),
    }
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/fuzz", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        check=False,
    )
    print(f"fuzz: {args.examples} examples per target, {time.monotonic() - started:.0f} s")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
