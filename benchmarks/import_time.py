"""Wall time of `import kdlib` (and of the framework sides) in fresh interpreters, median of 5."""

from __future__ import annotations

import statistics
import subprocess
import sys

CODE = "import time; t = time.perf_counter(); import {mod}; print(time.perf_counter() - t)"


def timed(mod: str, runs: int = 5) -> float:
    return statistics.median(
        float(
            subprocess.run(
                [sys.executable, "-c", CODE.format(mod=mod)], capture_output=True, text=True, check=True
            ).stdout.split()[-1]
        )
        for _ in range(runs)
    )


if __name__ == "__main__":
    for mod in ("kdlib", "kdlib.data", "kdlib.torch", "kdlib.tf"):
        print(f"import {mod:<12} {timed(mod):7.3f} s (median of 5 fresh interpreters)", flush=True)
