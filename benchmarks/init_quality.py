"""`easytrain init` against scikit-learn's HistGradientBoosting, on the same splits.

    python -m benchmarks.init_quality                 # prints the Markdown table
    python -m benchmarks.init_quality --work /tmp/iq  # keeps the CSVs, recipes and runs there

Each of scikit-learn's built-in sets is written out as a CSV (its `as_frame` table, target column
'target'), `easytrain init` writes the recipe, and `easytrain run` runs it unedited. The split is
the recipe's own (seed 0, stratified for classes): HistGradientBoosting (default settings,
random_state 0) is fitted on the same training rows and scored on the same test rows.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SETS = ("iris", "wine", "breast_cancer", "digits", "diabetes")


def write_csv(name: str, folder: Path) -> Path:
    from sklearn import datasets

    path = folder / f"{name}.csv"
    getattr(datasets, f"load_{name}")(as_frame=True).frame.to_csv(path, index=False)
    return path


def easytrain(*args: str, cwd: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "easytrain", *args],
        cwd=cwd,
        check=True,
        stdin=subprocess.DEVNULL,
        capture_output=True,
    )


def gradient_boosting(recipe: Path) -> tuple[str, float]:
    """(metric, test score) of HistGradientBoosting on the recipe's train/test split."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.metrics import accuracy_score, r2_score

    from easytrain.config.load import load_recipe
    from easytrain.data.frames import read_table
    from easytrain.data.split import split_indices
    from easytrain.data.table import load

    config = load_recipe(recipe)
    raw = load(config.data)
    parts = split_indices(raw, config.data.split, config.seed)
    frame = read_table(config.data.path)
    x = frame[config.data.features].to_numpy()
    if raw.task == "regression":
        model = HistGradientBoostingRegressor(random_state=0).fit(
            x[parts["train"]], raw.y[parts["train"]]
        )
        return "r2", float(r2_score(raw.y[parts["test"]], model.predict(x[parts["test"]])))
    model = HistGradientBoostingClassifier(random_state=0).fit(
        x[parts["train"]], raw.y[parts["train"]]
    )
    return "accuracy", float(accuracy_score(raw.y[parts["test"]], model.predict(x[parts["test"]])))


def measure(name: str, work: Path) -> dict:
    csv = write_csv(name, work)
    easytrain("init", csv.name, "--force", cwd=work)
    shutil.rmtree(work / "runs" / name, ignore_errors=True)
    started = time.perf_counter()
    easytrain("run", f"{name}.yaml", "--out", f"runs/{name}", cwd=work)
    seconds = time.perf_counter() - started
    summary = json.loads((work / "runs" / name / "summary.json").read_text())
    metric, boosted = gradient_boosting(work / f"{name}.yaml")
    ours = summary["metrics"]["test"][metric]
    return {
        "set": name,
        "rows": len(csv.read_text().splitlines()) - 1,
        "metric": metric,
        "easytrain": ours,
        "hgb": boosted,
        "gap": ours - boosted,
        "epochs": summary["epochs_completed"],
        "seconds": seconds,
    }


def table(found: list[dict]) -> str:
    lines = [
        "| data set (CSV) | rows | test metric | easytrain init + run | HistGradientBoosting "
        "| difference | epochs run | run seconds |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in found:
        lines.append(
            f"| {r['set']} | {r['rows']} | {r['metric']} | {r['easytrain']:.3f} | "
            f"{r['hgb']:.3f} | {r['gap']:+.3f} | {r['epochs']} | {r['seconds']:.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--sets", nargs="*", default=list(SETS))
    args = parser.parse_args()
    work = args.work.resolve() if args.work else Path(tempfile.mkdtemp(prefix="init-quality-"))
    work.mkdir(parents=True, exist_ok=True)
    os.chdir(work)  # the recipes name their CSV relative to the folder they run in
    found = []
    for name in args.sets:
        found.append(measure(name, work))
        print(json.dumps(found[-1]), file=sys.stderr)
    print(table(found))


if __name__ == "__main__":
    main()
