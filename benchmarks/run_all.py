"""Run every `bench_*.py` in this folder, one process each, and stop at the first failure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def main() -> int:
    for script in sorted(Path(__file__).parent.glob("bench_*.py")):
        print(f"== {script.name}", flush=True)
        code = subprocess.call([sys.executable, str(script)])
        if code:
            return code
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
