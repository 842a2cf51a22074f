"""Start-up: how long the commands people wait for take, each a fresh process.

    python -m benchmarks.startup                  # 15 runs of each, interleaved
    python -m benchmarks.startup --repeats 25 --entry-script
    git archive HEAD~10 easytrain recipes data/reviews.csv | tar -x -C /tmp/before
    python -m benchmarks.startup --baseline /tmp/before   # rows for that tree too, interleaved

Times `easytrain --help`, `validate` of a small recipe and of a Hugging Face one, against the
floors: the interpreter importing typer (or pydantic) and nothing else, and a one-command typer
program that reads the YAML and validates it with a one-model pydantic class. Each command runs as
`python -m easytrain …` (and, with --entry-script, through the `easytrain` script pip installs),
with bytecode caching on, as after `pip install` (one warm-up run each writes the caches). The
runs are interleaved so that a burst of load elsewhere hits every row alike; the table shows the
median and the fastest wall-clock seconds, and the median CPU seconds (user + sys), which a
busy machine inflates less than wall time. The load average is printed with it: on a shared
machine, compare medians of the same run only, which --baseline makes possible: each easytrain
row is also run from another tree (its easytrain/, recipes/ and data/reviews.csv), in that
folder, so that its package is the one imported.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EASYTRAIN = [sys.executable, "-m", "easytrain"]
ROWS: dict[str, list[str]] = {
    "easytrain --help": ["--help"],
    "easytrain validate recipes/digits.yaml": ["validate", "recipes/digits.yaml"],
    "easytrain validate recipes/text-finetune.yaml": ["validate", "recipes/text-finetune.yaml"],
}
# The least a typer command that validates YAML with pydantic costs: one command, one model.
MINIMAL_VALIDATE = """
from pathlib import Path
import typer, yaml
from pydantic import BaseModel

class Recipe(BaseModel):
    name: str
    seed: int = 0

def validate(recipe: Path, overrides: list[str] | None = None) -> None:
    data = yaml.safe_load(recipe.read_text())
    print(yaml.safe_dump(Recipe.model_validate({"name": data["name"]}).model_dump()))

typer.run(validate)
"""
FLOORS: dict[str, list[str]] = {
    'python -c "import typer"': [sys.executable, "-c", "import typer"],
    'python -c "import pydantic"': [sys.executable, "-c", "import pydantic"],
    "a minimal typer + PyYAML + pydantic validate": [
        sys.executable,
        "-c",
        MINIMAL_VALIDATE,
        "recipes/digits.yaml",
    ],
}


Row = tuple[list[str], Path]  # a command line and the folder it runs in


def commands(entry_script: bool, baseline: Path | None) -> dict[str, Row]:
    """Every row of the table: its label, the command line it times and where it runs."""
    rows = {label: ([*EASYTRAIN, *args], ROOT) for label, args in ROWS.items()}
    script = shutil.which("easytrain", path=str(Path(sys.executable).parent))
    if entry_script and script:
        for label, args in ROWS.items():
            rows[label.replace("easytrain", "easytrain (script)", 1)] = ([script, *args], ROOT)
    if baseline is not None:
        for label, args in ROWS.items():
            rows[f"{label} [baseline]"] = ([*EASYTRAIN, *args], baseline)
    return rows | {label: (command, ROOT) for label, command in FLOORS.items()}


def once(row: Row, env: dict[str, str]) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one run; a failed run stops the benchmark."""
    command, folder = row
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(
            f"{' '.join(command)} in {folder} failed ({done.returncode}):\n{done.stderr}"
        )
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


def measure(rows: dict[str, Row], repeats: int) -> dict[str, list[tuple[float, float]]]:
    """Each command `repeats` times, interleaved, after one warm-up run each."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["OMP_NUM_THREADS"] = env.get("OMP_NUM_THREADS", "1")
    for row in rows.values():
        once(row, env)
    times: dict[str, list[tuple[float, float]]] = {label: [] for label in rows}
    for _ in range(repeats):
        for label, row in rows.items():
            times[label].append(once(row, env))
    return times


def table(times: dict[str, list[tuple[float, float]]]) -> str:
    lines = [
        "| command | median s | fastest s | CPU s (median) |",
        "| --- | ---: | ---: | ---: |",
    ]
    for label, runs in times.items():
        walls = [wall for wall, _ in runs]
        cpu = statistics.median(cpu for _, cpu in runs)
        lines.append(
            f"| `{label}` | {statistics.median(walls):.3f} | {min(walls):.3f} | {cpu:.3f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="runs of each command")
    parser.add_argument(
        "--entry-script", action="store_true", help="also time the installed easytrain script"
    )
    parser.add_argument(
        "--baseline", type=Path, help="another tree (easytrain/, recipes/) to time beside this one"
    )
    args = parser.parse_args()
    load = os.getloadavg()
    times = measure(commands(args.entry_script, args.baseline), args.repeats)
    print(table(times))
    after = os.getloadavg()
    print(
        f"\n{args.repeats} runs each, {os.cpu_count()} cores; load average "
        f"{load[0]:.2f} before, {after[0]:.2f} after"
    )


if __name__ == "__main__":
    main()
