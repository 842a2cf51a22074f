"""The start every command that reads a recipe's data shares (run, --dry-run, evaluate): run the
preprocess stage, then check what the recipe can only be checked against once the data is known
(the task, the classes, the splits), before anything trains."""

from __future__ import annotations

from collections.abc import Callable

from easytrain.config.recipe import Recipe
from easytrain.data.bundle import DataBundle
from easytrain.errors import RecipeError
from easytrain.pipeline.context import RunContext


def preprocess(ctx: RunContext) -> DataBundle:
    """The recipe's preprocess stage (preprocess.type picks it), run over ctx: the data bundle."""
    section = ctx.recipe.preprocess
    ctx.registry.get("preprocess", section.type).load()(section).run(ctx)
    assert ctx.data is not None, f"the preprocess stage '{section.type}' made no data"
    return ctx.data


def bootstrap(ctx: RunContext, adjust: Callable[[DataBundle], None] | None = None) -> DataBundle:
    """Preprocess, put the data right (`adjust`: e.g. new data on a finished run's scale), then
    check the recipe against it; a mismatch is a RecipeError (exit 2) before any training."""
    data = preprocess(ctx)
    if adjust is not None:
        adjust(data)
    check_against_data(ctx.recipe, data, ctx)
    return data


def check_against_data(recipe: Recipe, data: DataBundle, ctx: RunContext) -> None:
    """What the recipe can only be checked against once the data is known; before training."""
    from easytrain.config.evaluate import check_against_task

    task = data.task
    classes = len(data.classes) if data.classes is not None else None
    splits = {name for name in ("val", "test") if data.split(name) is not None}
    problems = check_against_task(recipe.evaluate, task, classes, ctx.registry, splits)
    loss = recipe.train.loss
    if loss != "auto" and (loss in ("cross_entropy", "bce")) != (task == "classification"):
        problems.append(f"train.loss: '{loss}' does not fit a {task} task")
    problems += _monitor_problems(recipe, task, splits)
    if recipe.train.class_weights is not None and task != "classification":
        problems.append(
            "train.class_weights: class weights are for classification; this data is regression"
        )
    if recipe.data.sampler == "balanced" and task != "classification":
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
