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
from easytrain.errors import EasytrainError, Interrupted, Pruned, RecipeError
from easytrain.pipeline.context import RunContext
from easytrain.registry import Kind, Registry
from easytrain.stages import Stage
from easytrain.tracking.console import Reporter

ORDER: tuple[Kind, ...] = ("preprocess", "model", "train", "evaluate", "export")
# With several processes these run on every one; the stages after them on rank 0 alone.
EVERY_RANK = ("preprocess", "model", "train")
# may change on --resume: they cannot alter the steps already taken
RESUME_SAFE = {
    "name",
    "device",
    "train.epochs",
    "evaluate",
    "export",
    "tune",
    "data.cache",
    "data.cache_dir",
    "data.download",
    "data.stream",
    "data.workers",
    "track",
}


@dataclass
class RunOptions:
    out: Path | None = None
    resume: bool = False
    device: str | None = None
    on_epoch: Callable[[dict[str, float]], None] | None = None  # see RunContext.on_epoch


def build_stages(recipe: Recipe, registry: Registry) -> Iterator[tuple[str, Stage]]:
    """The stages after preprocess (pipeline/bootstrap.py runs that one), in order."""
    from easytrain.stages.model import ModelStage

    for name in ORDER[1:]:
        if name == "model":  # model.type picks the network, not the stage
            yield name, ModelStage()
            continue
        section = getattr(recipe, name)
        if section is not None:
            yield name, registry.get(name, section.type).load()(section)


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
        "gates": [gate.as_json() for gate in ctx.gates],
        "threshold": ctx.evaluation.get("threshold"),
        "per_class": ctx.evaluation.get("per_class", {}),
        "confusion_matrix": ctx.evaluation.get("confusion_matrix", {}),
        "data": ctx.evaluation.get("data"),
        "best_epoch": ctx.best_epoch,
        "epochs_completed": max(len(ctx.history), ctx.epochs_done),
        "timings": {k: round(v, 3) for k, v in ctx.timings.items()},
        "artifacts": ctx.artifacts,
    } | weights


def _start(
    recipe: Recipe, run_dir: Path, registry: Registry, reporter: Reporter, options: RunOptions
) -> RunContext:
    """Join the other processes, seed, and write recipe.yaml and env.json (rank 0)."""
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
    ctx = RunContext(
        recipe,
        run_dir,
        device,
        registry,
        reporter,
        resume=options.resume,
        world=world,
        on_epoch=options.on_epoch,
    )
    if world.main:  # with several processes, rank 0 alone writes the run folder
        write_atomic(run_dir / "recipe.yaml", lambda file: file.write(dump_recipe(recipe).encode()))
        write_json(run_dir / "env.json", environment(str(device)) | {"processes": world.size})
    ctx.artifacts |= {"recipe": "recipe.yaml", "env": "env.json"}
    processes = (
        f" × {world.size} processes (global batch {recipe.train.batch_size * world.size})"
        if world.distributed
        else ""
    )
    reporter.info(f"run {recipe.name} → {run_dir} on {device}{processes}")
    return ctx


def _run_stages(ctx: RunContext) -> bool:
    """Bootstrap, then every stage in order; False in a process that leaves once training is
    over (evaluate and export run once, on rank 0, on the whole splits)."""
    from easytrain.deploy.card import save_data_card
    from easytrain.engine import distributed
    from easytrain.pipeline.bootstrap import bootstrap

    world = ctx.world
    started = time.perf_counter()
    data = bootstrap(ctx)  # preprocess, then check the recipe against the data
    ctx.timings["preprocess"] = time.perf_counter() - started
    if world.main:
        ctx.artifacts |= save_data_card(data, ctx.run_dir)  # predict and export need it
    for name, stage in build_stages(ctx.recipe, ctx.registry):
        if name not in EVERY_RANK and world.distributed:
            distributed.stop()  # training is over: no collective from here on
            if not world.main:
                return False
        started = time.perf_counter()
        stage.run(ctx)
        ctx.timings[name] = time.perf_counter() - started
    if world.distributed:  # a recipe with no stage after training
        distributed.stop()
    return world.main


def run_pipeline(
    recipe: Recipe, run_dir: Path, registry: Registry, reporter: Reporter, options: RunOptions
) -> dict[str, Any]:
    """The whole run; summary.json is written however it ends (succeeded, failed, pruned …)."""
    from easytrain.metrics.gates import raise_if_failed
    from easytrain.pipeline.folders import write_json

    ctx = _start(recipe, run_dir, registry, reporter, options)
    main = ctx.world.main
    tracker = _start_tracking(ctx) if main else None

    def finish(result: dict[str, Any]) -> None:
        write_json(run_dir / "summary.json", result)
        if tracker is not None:
            tracker.finish(result)

    try:
        if not _run_stages(ctx):
            return {}
    except Pruned as exc:  # a tuning trial stopped early: no evaluation, no export, no failure
        result = summary(ctx, "pruned", str(exc)) | {"epochs_completed": exc.epoch}
        finish(result)
        return result
    except EasytrainError as exc:
        if not main:
            raise
        status = "interrupted" if isinstance(exc, Interrupted) else "failed"
        finish(summary(ctx, status, str(exc)))
        raise
    except Exception as exc:  # an unexpected failure still leaves a summary behind
        if not main:
            raise
        finish(summary(ctx, "failed", f"{type(exc).__name__}: {exc}"))
        raise
    failed = any(not g.passed for g in ctx.gates)
    ctx.artifacts["summary"] = "summary.json"
    result = summary(ctx, "gate_failed" if failed else "succeeded")
    finish(result)
    raise_if_failed(ctx.gates)
    return result


def _start_tracking(ctx: RunContext) -> Any:
    """The experiment tracker the recipe asks for (track.mlflow), fed every epoch's row."""
    recipe = ctx.recipe
    if recipe.track is None or recipe.track.mlflow is None:
        return None
    from easytrain.tracking import mlflow

    tracker = mlflow.start(
        recipe.track.mlflow, recipe.name, recipe.model_dump(mode="json"), ctx.run_dir
    )
    if tracker is None:
        return None
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
    from easytrain.pipeline.folders import RUNS_ROOT, check_writable, latest_run_dir, new_run_dir

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
        print(
            f"--resume: nothing was trained in {run_dir} (no checkpoints/last.pt); "
            "starting it from scratch",
            file=sys.stderr,
        )
        options.resume = False
        return run_dir
    from easytrain.engine import checkpoint

    check_writable(run_dir, "checkpoints")
    for stale in run_dir.rglob(".*.tmp"):  # writes that a kill cut short (checkpoints, export …)
        if stale.is_file() or stale.is_symlink():  # a folder of that name is not ours to remove
            stale.unlink()
    from easytrain.engine.runfolder_checks import training_checkpoint

    saved = training_checkpoint(checkpoint.load(last), last)
    differences = resume_differences(saved.get("recipe", {}), recipe.model_dump(mode="json"))
    if differences:
        raise RecipeError(
            [
                f"--resume: the recipe changed since {run_dir} started, so the run cannot continue exactly:"
            ]
            + [f"  {line}" for line in differences]
        )
    return run_dir
