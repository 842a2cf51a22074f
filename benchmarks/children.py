"""What the benchmarks that run each contender in a fresh process share: running a child that
prints its result as a JSON line, and the peak memory it reports."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_child(name: str, module: str, arguments: list[str]) -> dict | None:
    """`python -m module arguments…` from the repository root: its last stdout line as JSON, or
    None (its stderr's end printed) when it failed."""
    done = subprocess.run(
        [sys.executable, "-m", module, *arguments], capture_output=True, text=True, cwd=ROOT
    )
    if done.returncode != 0:
        print(f"{name} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def peak_mb(device: str) -> float:
    """The process's peak: CUDA memory allocated on a GPU, the resident set on the CPU."""
    if device.startswith("cuda"):
        import torch

        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
