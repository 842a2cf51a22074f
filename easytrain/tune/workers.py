"""Running trials: in this process, or in worker processes that share the study's storage.

With N workers each gets a share of the budget (3 + 2 for 5 trials), so one machine runs exactly
the budget. A callback also stops a worker once the study has spent its budget, which is what
keeps machines sharing a PostgreSQL study to the total.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Any

from easytrain.errors import RecipeError, RunFailed
from easytrain.tune.study import import_optuna, make_pruner, make_sampler, open_storage, tally
from easytrain.tune.trial import Objective

STORAGE_ENV = "EASYTRAIN_TUNE_STORAGE"  # the URL for workers: not on argv, where ps shows it


class Budget:
    """Stops a worker once the study's trials with a result or a worker reach the total."""

    def __init__(self, total: int | None):
        self.total = total

    def __call__(self, study: Any, trial: Any) -> None:
        if self.total is not None and tally(study).taken >= self.total:
            study.stop()


def shares(total: int | None, workers: int) -> list[int | None]:
    if total is None:
        return [None] * workers
    return [total // workers + (i < total % workers) for i in range(workers)]


def continued_seed(seed: int, started: int) -> int:
    """The sampler's seed for a study that has `started` trials already. A sampler made again
    with the study's own seed drew the same sequence again: `tune --resume` re-ran the first
    trials' exact parameters. A new study (started 0) keeps its seed, so a search still
    reproduces; workers (seed + their index) stay apart for fewer than 7919 of them."""
    return (seed + 7919 * started) % 2**32


def run_worker(
    objective: Objective,
    url: str,
    study: str,
    total: int | None,
    trials: int | None,
    seed: int,
    epochs: int,
) -> None:
    """Run up to `trials` trials (None: until the timeout) of the study in this process."""
    optuna = import_optuna()
    config = objective.config
    loaded = optuna.load_study(
        study_name=study,
        storage=open_storage(url),
        sampler=make_sampler(config, seed),
        pruner=make_pruner(config, epochs),
    )
    started = sum(t.state != optuna.trial.TrialState.WAITING for t in loaded.trials)
    if started:  # a resumed study: the sampler goes on from where its trials are, not trial 0
        loaded.sampler = make_sampler(config, continued_seed(seed, started))
    loaded.optimize(
        objective,
        n_trials=trials,
        timeout=config.timeout,
        catch=(RecipeError, RunFailed),  # the trial's own failure: recorded, and the study goes on
        callbacks=[Budget(total)],
    )


def spawn(tune_args: list[str], url: str, trials: list[int | None]) -> list[int]:
    """One `easytrain tune … --worker K` process per share; their exit codes.

    `tune_args` is the parent's command line for a worker (recipe, overrides, --out, --study …).
    """
    env = os.environ | {STORAGE_ENV: url}
    # N workers × every core each would thrash: each gets its share of the cores
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // len(trials))))
    procs = []
    for index, share in enumerate(trials):
        if share == 0:
            continue
        command = [sys.executable, "-m", "easytrain", "tune", *tune_args, "--worker", str(index)]
        command += ["--worker-trials", str(share)] if share is not None else []
        procs.append(subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL))
    try:
        return [proc.wait() for proc in procs]
    except KeyboardInterrupt:  # let each worker stop at a step boundary, as a run does
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in procs:
            proc.wait()
        raise
