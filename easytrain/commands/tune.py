"""`easytrain tune`: a hyper-parameter search (Optuna) over the recipe's tune: section."""

from pathlib import Path
from typing import Annotated

import typer

from easytrain.commands.common import (
    AllowCodeOpt,
    OverridesArg,
    RecipeArg,
    exit_codes,
    import_beside,
)


def tune(
    recipe: RecipeArg,
    overrides: OverridesArg = None,
    trials: Annotated[
        int | None,
        typer.Option(
            min=1, help="Trials in the study, all workers together (default: tune.trials)."
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            min=1, help="Seconds after which no new trial starts (default: tune.timeout)."
        ),
    ] = None,
    storage: Annotated[
        str | None,
        typer.Option(
            help="Where the study lives: default sqlite:///<tune folder>/study.db; "
            "postgresql://user:pass@host/db shares it across machines."
        ),
    ] = None,
    study: Annotated[
        str | None,
        typer.Option(help="The study's name in the storage (default: the recipe's name)."),
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes on this machine sharing the study.")
    ] = 1,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume", help="Continue the study in --out (or the recipe's latest tune folder)."
        ),
    ] = False,
    out: Annotated[Path | None, typer.Option(help="Write the tune folder exactly here.")] = None,
    allow_code: AllowCodeOpt = False,
    worker: Annotated[int | None, typer.Option(hidden=True)] = None,
    worker_trials: Annotated[int | None, typer.Option(hidden=True)] = None,
) -> None:
    """Search hyper-parameters over the recipe's tune: section (Optuna); each trial is a real run.

    Leaves study.csv, best.yaml (for `easytrain run`), plots/ and trials/ in runs/NAME/tune-TIME.
    """
    with exit_codes():
        from easytrain.tune.command import TuneOptions, tune_recipe

        if allow_code:
            import_beside(recipe)

        options = TuneOptions(recipe, overrides or [], trials=trials, timeout=timeout)
        options.storage, options.study, options.workers = storage, study, workers
        options.resume, options.out, options.allow_code = resume, out, allow_code
        options.worker, options.worker_trials = worker, worker_trials
        tune_recipe(options)
