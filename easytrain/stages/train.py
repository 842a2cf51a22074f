"""Train the model; afterwards it holds the weights of the best epoch."""

from __future__ import annotations

from easytrain.config.train import TrainConfig
from easytrain.engine import checkpoint
from easytrain.engine.loop import fit
from easytrain.engine.runfolder_checks import load_into, weights
from easytrain.metrics import metric_names
from easytrain.pipeline.context import RunContext


class TrainStage:
    def __init__(self, config: TrainConfig):
        self.config = config

    def _show_weights(self, ctx: RunContext) -> None:
        """auto weights come from the training split: show them, and keep them in summary.json."""
        from easytrain.engine.optim import class_weights

        assert ctx.data is not None and ctx.data.classes is not None
        weights = class_weights(self.config, ctx.data.train.y, len(ctx.data.classes))
        assert weights is not None
        shown = {str(c): round(float(w), 4) for c, w in zip(ctx.data.classes, weights, strict=True)}
        ctx.class_weights = shown
        ctx.reporter.info(
            "class weights (auto): " + ", ".join(f"{c} {w:g}" for c, w in shown.items())
        )

    def run(self, ctx: RunContext) -> None:
        assert ctx.data is not None and ctx.model is not None
        evaluate = ctx.recipe.evaluate
        names = metric_names(evaluate.metrics, evaluate.needed_metrics(), ctx.data.task)
        if self.config.class_weights == "auto" and ctx.data.classes:
            self._show_weights(ctx)
        then = ctx.on_epoch

        def count(row: dict[str, float]) -> None:  # summary.json counts them after Ctrl-C too
            ctx.epochs_done = int(row["epoch"])
            if then is not None:
                then(row)

        ctx.on_epoch = count
        state = fit(ctx, self.config, names)
        ctx.history, ctx.best_epoch = state.history, state.best_epoch
        best = ctx.run_dir / "checkpoints" / "best.pt"
        if not ctx.world.main:
            return  # only rank 0 goes on to evaluate and export
        if ctx.world.distributed and self.config.strategy == "fsdp":
            from easytrain.stages.model import build_model

            ctx.model = build_model(ctx, pretrained=False)[0].to(ctx.device)  # whole, not sharded
            last = ctx.run_dir / "checkpoints" / "last.pt"
            saved = checkpoint.load(last, map_location=ctx.device)
            load_into(ctx.model, weights(saved, last), last)
        if best.exists():
            saved = checkpoint.load(best, map_location=ctx.device)
            load_into(ctx.model, weights(saved, best), best)
        ctx.artifacts |= {"last_checkpoint": "checkpoints/last.pt", "metrics_csv": "metrics.csv"}
        if best.exists():
            ctx.artifacts["best_checkpoint"] = "checkpoints/best.pt"
