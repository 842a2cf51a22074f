"""--workers N: processes on one machine share one SQLite study; the total is exact."""

from __future__ import annotations

from pathlib import Path

import optuna

from tests.conftest import cli
from tests.tune.conftest import study_rows, summary, write_search


def test_two_workers_share_one_study_and_run_exactly_the_budget(tmp_path: Path) -> None:
    trials = 5  # odd: the workers' shares differ (3 + 2)
    recipe = write_search(tmp_path, epochs=3, trials=trials)
    folder = tmp_path / "tune"

    result = cli("tune", str(recipe), "--out", str(folder), "--workers", "2")
    assert result.returncode == 0, result.stderr

    study = optuna.load_study(study_name="iris-search", storage=f"sqlite:///{folder / 'study.db'}")
    numbers = [t.number for t in study.trials]
    assert sorted(numbers) == list(range(trials)), "no trial lost, none run twice"
    assert all(t.state.name in ("COMPLETE", "PRUNED") for t in study.trials)
    workers = {t.user_attrs["worker"] for t in study.trials}
    assert len(workers) == 2, "both processes ran trials"
    folders = sorted(int(p.name) for p in (folder / "trials").iterdir())
    assert folders == list(range(trials)), "every trial folder present once"
    assert all((folder / "trials" / str(n) / "summary.json").exists() for n in numbers)
    assert [int(row["number"]) for row in study_rows(folder)] == list(range(trials))
    assert summary(folder)["best"] is not None and (folder / "best.yaml").exists()
