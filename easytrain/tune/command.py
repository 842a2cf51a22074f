"""`easytrain tune RECIPE`: open the study, run its trials (here or in worker processes), and
write what it found: study.csv, best.yaml, plots/ and summary.json in the tune folder."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from easytrain.config.load import read_recipe, validate_data
from easytrain.config.tune import TuneConfig
from easytrain.config.yamlpos import Positions
from easytrain.errors import Interrupted, Problem, RecipeError, RunFailed
from easytrain.registry import Registry, default_registry
from easytrain.tracking import mlflow
from easytrain.tune import results
from easytrain.tune.folder import Where, locate, own_storage, save_info
from easytrain.tune.study import (
    Tally,
    direction,
    grid_size,
    import_optuna,
    masked,
    open_study,
    queue_grid,
    recover,
    tally,
)
from easytrain.tune.trial import Objective
from easytrain.tune.workers import STORAGE_ENV, run_worker, shares, spawn


@dataclass
class TuneOptions:
    recipe: Path
    overrides: list[str] = field(default_factory=list)
    trials: int | None = None  # the study's total; overrides tune.trials
    timeout: float | None = None  # overrides tune.timeout
    storage: str | None = None
    study: str | None = None
    workers: int = 1
    resume: bool = False
    out: Path | None = None
    allow_code: bool = False
    worker: int | None = None  # in a worker process that a parent started: its index
    worker_trials: int | None = None  # that worker's share of the trials


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _config(recipe: Any, options: TuneOptions) -> TuneConfig:
    if recipe.tune is None:
        raise RecipeError(
            Problem(
                "no tune: section to search over; add one, e.g. tune: {metric: val_accuracy, "
                "space: {train.optimizer.lr: {loguniform: [1.0e-4, 1.0e-1]}}} "
                "(recipes/iris-tune.yaml is a whole example)",
                where=str(options.recipe),
            )
        )
    update = {"trials": options.trials, "timeout": options.timeout}
    return recipe.tune.model_copy(update={k: v for k, v in update.items() if v is not None})


def _budget(config: TuneConfig) -> int | None:
    """The study's total, or None for as many as the timeout allows."""
    grid = grid_size(config)
    if grid is not None:
        return min(config.trials or grid, grid)
    return config.trials


def _open(
    options: TuneOptions, name: str, config: TuneConfig, registry: Registry
) -> tuple[Where, tuple[Any, Any, bool]]:
    """The tune folder and the study in its storage (made, or found for --resume)."""
    where = locate(name, options.out, options.resume, options.storage, options.study)
    opened = open_study(
        where.url,
        where.study,
        config,
        registry,
        create=where.own and not options.resume,
        must_exist=options.resume,
    )
    save_info(
        where,
        masked(where.url),
        {
            "recipe": str(options.recipe),
            "overrides": options.overrides,
            "metric": config.metric,
            "direction": direction(config, registry),
        },
    )
    return where, opened


def _run_share(
    options: TuneOptions,
    data: dict[str, Any],
    positions: Positions,
    config: TuneConfig,
    registry: Registry,
    total: int | None,
    seed: int,
    epochs: int,
) -> None:
    """A worker process (--worker N, started by _spawn_workers): its share of the trials."""
    assert options.out is not None and options.study is not None
    url = os.environ.get(STORAGE_ENV) or own_storage(options.out)
    tag = f"[worker {options.worker}] "
    objective = Objective(data, positions, config, options.out, registry, options.allow_code, tag)
    run_worker(objective, url, options.study, total, options.worker_trials, seed, epochs)


def _spawn_workers(
    options: TuneOptions,
    where: Where,
    config: TuneConfig,
    total: int | None,
    counts: list[int | None],
) -> None:
    """--workers N: N processes share the study, each running its count of trials."""
    args = [str(options.recipe), *options.overrides, "--out", str(where.folder)]
    args += ["--study", where.study, *(["--trials", str(total)] if total else [])]
    args += ["--timeout", str(config.timeout)] if config.timeout else []
    args += ["--allow-code"] if options.allow_code else []
    codes = spawn(args, where.url, counts)
    if any(code == 130 for code in codes):
        raise Interrupted("a worker was interrupted")
    failed = [c for c in codes if c != 0]
    if failed:
        raise RunFailed(f"{len(failed)} of {len(codes)} workers failed (exit codes {failed})")


def tune_recipe(options: TuneOptions, registry: Registry | None = None) -> dict[str, Any]:
    registry = registry or default_registry()
    data, positions = read_recipe(options.recipe, options.overrides)
    recipe = validate_data(data, positions, allow_code=options.allow_code, registry=registry)
    config = _config(recipe, options)
    seed = config.seed if config.seed is not None else recipe.seed
    epochs, total = recipe.train.epochs, _budget(config)
    import_optuna()  # fail early, before any folder is made, if the extra is missing

    if options.worker is not None:  # a worker: run its share; the parent writes the results
        _run_share(options, data, positions, config, registry, total, seed + options.worker, epochs)
        return {}

    where, (study, storage, created) = _open(options, recipe.name, config, registry)
    requeued = [] if created else recover(study, storage, where.own)
    if config.sampler == "grid" and total is not None:
        queue_grid(study, config, seed, total)
    before = tally(study)
    to_run = None if total is None else max(0, total - before.taken)
    _say(_opening(recipe.name, where, created, config, total, before, requeued))

    workers = max(1, min(options.workers, to_run if to_run is not None else options.workers))
    track = recipe.track.mlflow if recipe.track is not None else None
    search, search_failed = mlflow.start_search(track, recipe.name, where.folder), True
    try:
        if to_run == 0:
            _say(f"the study already holds {total} trials: nothing to run")
        elif workers == 1:
            objective = Objective(
                data, positions, config, where.folder, registry, options.allow_code
            )
            run_worker(objective, where.url, where.study, total, to_run, seed, epochs)
        else:
            _spawn_workers(options, where, config, total, shares(to_run, workers))
    except (Interrupted, KeyboardInterrupt):
        _finish(study, storage, data, positions, config, where.folder, quiet=True)
        hint = " ".join(["easytrain tune", str(options.recipe), *options.overrides])
        raise Interrupted(
            f"tuning interrupted; continue the study with: {hint} --resume --out {where.folder}"
        ) from None
    else:
        search_failed = False
    finally:
        mlflow.end_search(search, search_failed)
    return _finish(study, storage, data, positions, config, where.folder)


def _count(number: int, word: str) -> str:
    return f"{number} {word}{'' if number == 1 else 's'}"


def _opening(
    run_name: str,
    where: Where,
    created: bool,
    config: TuneConfig,
    total: int | None,
    before: Tally,
    requeued: list[int],
) -> str:
    storage = "study.db in the tune folder" if where.own else masked(where.url)
    state = "new study" if created else f"{_count(before.done, 'trial')} done"
    lines = [
        f"tune {run_name} → {where.folder}",
        f"study {where.study} ({storage}): {state}; budget {total if total is not None else 'unlimited'} "
        f"trials{f', {config.timeout:g} s' if config.timeout else ''}; sampler {config.sampler}, "
        f"pruner {config.pruner}; {config.metric}",
    ]
    if before.running:
        lines.append(f"{_count(before.running, 'trial')} running elsewhere")
    if requeued:
        many = len(requeued) > 1
        lines.append(
            f"trial{'s' if many else ''} {', '.join(map(str, requeued))} "
            f"{'were' if many else 'was'} cut off; running {'them' if many else 'it'} again"
        )
    return "\n".join(lines)


def _finish(
    study: Any,
    storage: Any,
    data: dict[str, Any],
    positions: Any,
    config: TuneConfig,
    folder: Path,
    quiet: bool = False,
) -> dict[str, Any]:
    """Write the results of the whole study (all workers', all machines'); say what is best."""
    optuna = import_optuna()
    study = optuna.load_study(study_name=study.study_name, storage=storage)
    summary = results.write_all(study, data, positions, config, folder, show=not quiet)
    if quiet:
        return summary
    if summary["best"] is None:
        raise RunFailed(f"no trial completed; see {folder / 'study.csv'}")
    best = folder / "best.yaml"
    _say(
        f"best: trial {summary['best']['number']}  {config.metric} "
        f"{summary['best']['value']:.4f}  → {best}\nretrain it with: easytrain run {best}"
    )
    return summary
