"""Build the stages from a recipe and run them over one RunContext, writing the run folder."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from easytrain.config.load import dump_recipe
from easytrain.config.recipe import Recipe
from easytrain.errors import EasytrainError, GateFailed, Interrupted, Pruned, RecipeError
from easytrain.pipeline.context import RunContext
from easytrain.registry import Registry
from easytrain.stages import Stage
from easytrain.tracking.console import Reporter

ORDER = ("preprocess", "model", "train", "evaluate", "export")
# may change on --resume: they cannot alter the steps already taken
RESUME_SAFE = {"name", "device", "train.epochs", "evaluate", "export", "tune", "data.cache",
               "data.cache_dir", "data.download", "data.stream", "data.workers", "track"}


@dataclass
class RunOptions:
    out: Path | None = None
    resume: bool = False
    device: str | None = None
    on_epoch: Callable[[dict[str, float]], None] | None = None  # see RunContext.on_epoch


def build_stages(recipe: Recipe, registry: Registry) -> Iterator[tuple[str, Stage]]:
    from easytrain.stages.model import ModelStage

    for name in ORDER:
        if name == "model":  # model.type picks the network, not the stage
            yield name, ModelStage()
            continue
        section = getattr(recipe, name)
        if section is not None:
            yield name, registry.get(name, section.type).load()(section)


def check_against_data(ctx: RunContext) -> None:
    """What the recipe can only be checked against once the data is known; before training."""
    assert ctx.data is not None
    from easytrain.config.evaluate import check_against_task

    task, recipe = ctx.data.task, ctx.recipe
    classes = len(ctx.data.classes) if ctx.data.classes is not None else None
    splits = {name for name in ("val", "test") if ctx.data.split(name) is not None}
    problems = check_against_task(recipe.evaluate, task, classes, ctx.registry, splits)
    loss = recipe.train.loss
    if loss != "auto" and (loss in ("cross_entropy", "bce")) != (task == "classification"):
        problems.append(f"train.loss: '{loss}' does not fit a {task} task")
    problems += _monitor_problems(recipe, task, splits)
    if recipe.train.class_weights is not None and task != "classification":
        problems.append("train.class_weights: class weights are for classification; this data is regression")
    if getattr(recipe.data, "sampler", "shuffle") == "balanced" and task != "classification":
        problems.append("data.sampler: balanced draws classes equally; this data is regression")
    if problems:
        raise RecipeError(problems)


def _monitor_problems(recipe: Recipe, task: str, splits: set[str]) -> list[str]:
    """A monitor the run does not log (the task's default metrics lack it) picks no best.pt."""
    from easytrain.metrics import metric_names

    train, evaluate = recipe.train, recipe.evaluate
    key = "train.early_stopping.monitor" if train.early_stopping else "train.monitor"
    monitor = train.early_stopping.monitor if train.early_stopping else train.monitor
    if not monitor.startswith("val_") or monitor == "val_loss" or "val" not in splits:
        return []
    name = monitor.removeprefix("val_")
    if name in metric_names(evaluate.metrics, evaluate.needed_metrics(), task):  # type: ignore[arg-type]
        return []
    return [f"{key}: '{monitor}' is not logged for {task} data: add {name} to evaluate.metrics"]


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value and path not in RESUME_SAFE:
            flat |= _flatten(value, path + ".")
        else:
            flat[path] = value
    return flat


def resume_differences(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Changes between the checkpoint's recipe and this one that would make a resume inexact."""
    old, new = _flatten(saved), _flatten(current)
    return [
        f"{key}: {old.get(key)!r} → {new.get(key)!r}"
        for key in sorted(old.keys() | new.keys())
        if key not in RESUME_SAFE and old.get(key) != new.get(key)
    ]


def summary(ctx: RunContext, status: str, error: str | None = None) -> dict[str, Any]:
    weights = {"class_weights": ctx.class_weights} if ctx.class_weights else {}
    return {
        "status": status,
        "error": error,
        "metrics": ctx.metrics,
        "gates": ctx.gates,
        "threshold": ctx.evaluation.get("threshold"),
        "per_class": ctx.evaluation.get("per_class", {}),
        "confusion_matrix": ctx.evaluation.get("confusion_matrix", {}),
        "data": ctx.evaluation.get("data"),
        "best_epoch": ctx.best_epoch,
        "epochs_completed": max(len(ctx.history), ctx.epochs_done),
        "timings": {k: round(v, 3) for k, v in ctx.timings.items()},
        "artifacts": ctx.artifacts,
    } | weights


def run_pipeline(
    recipe: Recipe, run_dir: Path, registry: Registry, reporter: Reporter, options: RunOptions
) -> dict[str, Any]:
    from easytrain.deploy.card import save_data_card
    from easytrain.engine import distributed
    from easytrain.engine.checkpoint import write_atomic
    from easytrain.engine.device import resolve_device
    from easytrain.engine.rng import deterministic, seed_everything
    from easytrain.engine.world import current_world
    from easytrain.pipeline.environment import environment
    from easytrain.pipeline.folders import write_json

    world = current_world()
    device = distributed.start(world, resolve_device(options.device or recipe.device))
    seed_everything(recipe.seed)
    deterministic(recipe.train.deterministic)
    ctx = RunContext(recipe, run_dir, device, registry, reporter, resume=options.resume, world=world,
                     on_epoch=options.on_epoch)
    tracker = _start_tracking(ctx) if world.main else None

    def finish(result: dict[str, Any]) -> None:
        write_json(run_dir / "summary.json", result)
        if tracker is not None:
            tracker.finish(result)

    if world.main:  # with several processes, rank 0 alone writes the run folder
        write_atomic(run_dir / "recipe.yaml", lambda file: file.write(dump_recipe(recipe).encode()))
        write_json(run_dir / "env.json", environment(str(device)) | {"processes": world.size})
    ctx.artifacts |= {"recipe": "recipe.yaml", "env": "env.json"}
    processes = f" × {world.size} processes (global batch {recipe.train.batch_size * world.size})" if world.distributed else ""
    reporter.info(f"run {recipe.name} → {run_dir} on {device}{processes}")
    try:
        for name, stage in build_stages(recipe, registry):
            started = time.perf_counter()
            stage.run(ctx)
            ctx.timings[name] = time.perf_counter() - started
            if name == "preprocess":
                check_against_data(ctx)
                if world.main:
                    ctx.artifacts |= save_data_card(ctx.data, run_dir)  # predict and export need it
            if name == "train" and world.distributed:
                distributed.stop()  # training is over: no collective from here on
                if not world.main:
                    return {}  # evaluate and export run once, on rank 0, on the whole splits
    except Pruned as exc:  # a tuning trial stopped early: no evaluation, no export, no failure
        result = summary(ctx, "pruned", str(exc)) | {"epochs_completed": exc.epoch}
        finish(result)
        return result
    except EasytrainError as exc:
        if not world.main:
            raise
        status = "interrupted" if isinstance(exc, Interrupted) else "failed"
        finish(summary(ctx, status, str(exc)))
        raise
    except Exception as exc:  # an unexpected failure still leaves a summary behind
        if not world.main:
            raise
        finish(summary(ctx, "failed", f"{type(exc).__name__}: {exc}"))
        raise
    failed = [g for g in ctx.gates if not g["passed"]]
    ctx.artifacts["summary"] = "summary.json"
    result = summary(ctx, "gate_failed" if failed else "succeeded")
    finish(result)
    if failed:
        from easytrain.metrics.gates import failure_message

        raise GateFailed(failure_message(ctx.gates), ctx.gates)
    return result


def _start_tracking(ctx: RunContext) -> Any:
    """The experiment tracker the recipe asks for (track.mlflow), fed every epoch's row."""
    if ctx.recipe.track is None or ctx.recipe.track.mlflow is None:
        return None
    from easytrain.tracking import mlflow

    recipe = ctx.recipe
    tracker = mlflow.start(recipe.track.mlflow, recipe.name, recipe.model_dump(mode="json"),
                           ctx.run_dir)
    then = ctx.on_epoch  # easytrain tune's report, which may prune: logged first

    def on_epoch(row: dict[str, float]) -> None:
        tracker.epoch(row)
        if then is not None:
            then(row)

    ctx.on_epoch = on_epoch
    return tracker


def open_run_dir(recipe: Recipe, options: RunOptions) -> Path:
    """The folder this run writes to; for --resume, one whose checkpoint this recipe can continue."""
    from easytrain.engine.world import current_world
    from easytrain.pipeline.folders import RUNS_ROOT, latest_run_dir, new_run_dir

    world = current_world()
    if world.distributed and options.out is None:  # `torchrun -m easytrain run …`: one shared name
        job = os.environ.get("TORCHELASTIC_RUN_ID", "job")
        options = replace(options, out=RUNS_ROOT / recipe.name / f"torchrun-{job}")
    if not world.main:  # rank 0 checks and writes the folder
        assert options.out is not None
        return options.out
    if not options.resume:
        return new_run_dir(recipe.name, options.out)
    run_dir = options.out or latest_run_dir(recipe.name)
    if run_dir is None:
        raise RecipeError(
            f"--resume: no run of '{recipe.name}' with a checkpoint under runs/{recipe.name}/"
        )
    from easytrain.pipeline.runfiles import run_file

    last = run_file(run_dir, "checkpoints/last.pt")  # not a link out of the folder, nor a FIFO
    if not last.exists():
        if not (run_dir / "recipe.yaml").is_file():  # not a run folder: leave it alone
            raise RecipeError(f"--resume: nothing to resume in {run_dir} (no checkpoints/last.pt)")
        # killed before its first checkpoint: no step was kept, so starting over loses nothing
        print(f"--resume: nothing was trained in {run_dir} (no checkpoints/last.pt); "
              "starting it from scratch", file=sys.stderr)
        options.resume = False
        return run_dir
    from easytrain.engine import checkpoint

    for stale in run_dir.rglob(".*.tmp"):  # writes that a kill cut short (checkpoints, export …)
        stale.unlink()
    saved = checkpoint.load(last)
    differences = resume_differences(saved.get("recipe", {}), recipe.model_dump(mode="json"))
    if differences:
        raise RecipeError(
            [
                f"--resume: the recipe changed since {run_dir} started, so the run cannot continue exactly:"
            ]
            + [f"  {line}" for line in differences]
        )
    return run_dir
