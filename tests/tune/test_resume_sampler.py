"""`tune --resume` continues the sampler's sequence: made again with the study's seed, it
proposed the first trials' exact parameters once more."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import cli
from tests.tune.conftest import SEARCH, study_rows

PARAMS = ("params.train.optimizer.lr", "params.model.hidden")


def test_a_resumed_study_proposes_no_parameters_already_tried(tmp_path: Path) -> None:
    recipe = tmp_path / "iris-search.yaml"
    text = SEARCH.format(epochs=1, trials=3).replace("pruner: median", "pruner: none")
    recipe.write_text(text.replace("startup_trials: 3", "sampler: random"))
    folder = tmp_path / "tune"
    assert cli("tune", str(recipe), "--out", str(folder)).returncode == 0
    result = cli("tune", str(recipe), "--resume", "--out", str(folder), "--trials", "6")
    assert result.returncode == 0, result.stderr
    rows = study_rows(folder)
    assert len(rows) == 6 and {row["state"] for row in rows} == {"complete"}
    tried = [tuple(row[p] for p in PARAMS) for row in rows]
    # a continuous learning rate: two equal draws mean the same random sequence, not chance
    assert len(set(tried)) == len(tried), tried
    lrs = [row[PARAMS[0]] for row in rows]
    assert len(set(lrs)) == len(lrs), lrs
